/**
 * Not API: implementation details of flower-java that may change in any release; shared helpers.
 */
package dev.flowerjava.internal;
