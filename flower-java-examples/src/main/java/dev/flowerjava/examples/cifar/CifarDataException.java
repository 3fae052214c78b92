package dev.flowerjava.examples.cifar;

import java.nio.file.Path;

/**
 * A CIFAR-10 file is missing, truncated or corrupt. The message names the file, says what is wrong
 * with it, and says how to get a good copy.
 */
public final class CifarDataException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** The remedy appended to every message. */
  public static final String FETCH_HINT =
      "run scripts/fetch-cifar10.sh (from the repository root) to fetch CIFAR-10 into .cache/cifar10/";

  private final transient Path file;

  public CifarDataException(Path file, String problem) {
    this(file, problem, null);
  }

  public CifarDataException(Path file, String problem, Throwable cause) {
    super(message(file, problem), cause);
    this.file = file;
  }

  /** The file (or directory) the problem was found in. */
  public Path file() {
    return file;
  }

  private static String message(Path file, String problem) {
    return "CIFAR-10 data file " + file + ": " + problem + "; " + FETCH_HINT;
  }
}
