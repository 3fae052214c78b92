package dev.flowerjava.fleet.objects;

import java.util.Objects;
import java.util.Optional;

/**
 * flwr's {@code Message}: {@link Metadata} plus either content (a {@link RecordDict}) or an
 * {@link MessageError}. Immutable.
 */
public final class Message {
  private final Metadata metadata;
  private final RecordDict content;
  private final MessageError error;

  private Message(Metadata metadata, RecordDict content, MessageError error) {
    this.metadata = Objects.requireNonNull(metadata, "metadata");
    this.content = content;
    this.error = error;
  }

  /** A message carrying content. */
  public static Message ofContent(Metadata metadata, RecordDict content) {
    return new Message(metadata, Objects.requireNonNull(content, "content"), null);
  }

  /** A message carrying an error. */
  public static Message ofError(Metadata metadata, MessageError error) {
    return new Message(metadata, null, Objects.requireNonNull(error, "error"));
  }

  public Metadata metadata() {
    return metadata;
  }

  public boolean hasContent() {
    return content != null;
  }

  public boolean hasError() {
    return error != null;
  }

  public Optional<RecordDict> content() {
    return Optional.ofNullable(content);
  }

  public Optional<MessageError> error() {
    return Optional.ofNullable(error);
  }

  /** This message with other metadata (e.g. its message id once known). */
  public Message withMetadata(Metadata metadata) {
    return new Message(metadata, content, error);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Message m
        && metadata.equals(m.metadata)
        && Objects.equals(content, m.content)
        && Objects.equals(error, m.error);
  }

  @Override
  public int hashCode() {
    return Objects.hash(metadata, content, error);
  }

  @Override
  public String toString() {
    return "Message[" + metadata + ", " + (content != null ? content : error) + "]";
  }
}
