package dev.flowerjava.internal.message;

import java.util.Objects;
import java.util.Optional;

/**
 * flwr's {@code Message}: {@link MessageMetadata} plus either content (a {@link RecordDict}) or an
 * {@link MessageError}. Immutable.
 */
public final class FlowerMessage {
  private final MessageMetadata metadata;
  private final RecordDict content;
  private final MessageError error;

  private FlowerMessage(MessageMetadata metadata, RecordDict content, MessageError error) {
    this.metadata = Objects.requireNonNull(metadata, "metadata");
    this.content = content;
    this.error = error;
  }

  /** A message carrying content. */
  public static FlowerMessage ofContent(MessageMetadata metadata, RecordDict content) {
    return new FlowerMessage(metadata, Objects.requireNonNull(content, "content"), null);
  }

  /** A message carrying an error. */
  public static FlowerMessage ofError(MessageMetadata metadata, MessageError error) {
    return new FlowerMessage(metadata, null, Objects.requireNonNull(error, "error"));
  }

  public MessageMetadata metadata() {
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
  public FlowerMessage withMetadata(MessageMetadata metadata) {
    return new FlowerMessage(metadata, content, error);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FlowerMessage m
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
    return "FlowerMessage[" + metadata + ", " + (content != null ? content : error) + "]";
  }
}
