/**
 * Tensors as Flower sends them: {@link dev.flowerjava.tensor.NDArray} and numpy's {@code .npy}
 * format ({@link dev.flowerjava.tensor.NpyCodec}).
 */
package dev.flowerjava.tensor;
