/** Not API: what the client-side transports share. */
package dev.flowerjava.internal.client;
