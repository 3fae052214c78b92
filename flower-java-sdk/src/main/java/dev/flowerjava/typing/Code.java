package dev.flowerjava.typing;

/** Outcome of a client operation; mirrors Flower's {@code Code} enum, numbers included. */
public enum Code {
  OK(0),
  GET_PROPERTIES_NOT_IMPLEMENTED(1),
  GET_PARAMETERS_NOT_IMPLEMENTED(2),
  FIT_NOT_IMPLEMENTED(3),
  EVALUATE_NOT_IMPLEMENTED(4);

  private final int number;

  Code(int number) {
    this.number = number;
  }

  public int number() {
    return number;
  }
}
