/** Not API: the legacy protocol's protobuf messages to and from the typing records. */
package dev.flowerjava.internal.serde;
