package dev.flowerjava.typing;

/**
 * Outcome of a client operation, carried in a {@link Status}: Flower's client status codes ({@code
 * flwr.common.Code}), numbers included.
 */
public enum Code {
  /** The operation succeeded and its result holds real values. */
  OK(0),
  /** The client does not implement {@code get_properties}; the properties are empty. */
  GET_PROPERTIES_NOT_IMPLEMENTED(1),
  /** The client does not implement {@code get_parameters}; the parameters are empty. */
  GET_PARAMETERS_NOT_IMPLEMENTED(2),
  /** The client does not implement {@code fit}; the result carries no update. */
  FIT_NOT_IMPLEMENTED(3),
  /** The client does not implement {@code evaluate}; the result carries no loss. */
  EVALUATE_NOT_IMPLEMENTED(4);

  private final int number;

  Code(int number) {
    this.number = number;
  }

  /**
   * The code's number in Flower's protobuf {@code Code} enum, which is what travels on the wire.
   *
   * @return 0 for {@link #OK}, 1 to 4 for the {@code *_NOT_IMPLEMENTED} codes
   */
  public int number() {
    return number;
  }
}
