package dev.flowerjava.internal.server;

import java.util.List;

/**
 * An aggregator that may reject a result after {@code accept} returned for it: it holds results and
 * checks their values when it folds them as a batch (see {@link WeightedMean#offer}). The server
 * asks after every {@code accept} and once before {@code finish}, and records each rejection as a
 * failure of the client it names.
 */
public interface DeferredRejections {
  /**
   * The results rejected since the last call.
   *
   * @param endOfRound true once every result is in: fold whatever is still held first
   * @return the rejections, each naming the client (a {@code ClientProxy}) whose result it was
   */
  List<WeightedMean.Rejection> takeRejections(boolean endOfRound);
}
