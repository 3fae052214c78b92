/** Not API: node keys, request signatures and TLS material. */
package dev.flowerjava.internal.security;
