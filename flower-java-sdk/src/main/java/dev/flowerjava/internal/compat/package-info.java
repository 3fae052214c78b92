/**
 * Not API: translation between the legacy messages and Flower's records, shared by the Java
 * SuperNode and the Fleet server.
 */
package dev.flowerjava.internal.compat;
