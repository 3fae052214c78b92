/**
 * Not API: the server's checkpoints (model, history, strategy state and sampling seed of the last
 * finished round, written atomically) and the reader that resumes from them.
 */
package dev.flowerjava.internal.server.checkpoint;
