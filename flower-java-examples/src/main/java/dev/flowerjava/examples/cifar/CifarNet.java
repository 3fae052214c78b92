package dev.flowerjava.examples.cifar;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.util.Pair;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The CNN of Flower's PyTorch quickstart ({@code Net} in {@code task.py}) as a DJL model on the
 * PyTorch engine:
 *
 * <pre>
 * conv1 = Conv2d(3, 6, 5);  ReLU; MaxPool2d(2, 2)
 * conv2 = Conv2d(6, 16, 5); ReLU; MaxPool2d(2, 2)
 * flatten (C, H, W order, = torch.flatten(x, 1))
 * fc1 = Linear(400, 120); ReLU
 * fc2 = Linear(120, 84);  ReLU
 * fc3 = Linear(84, 10)    -> logits
 * </pre>
 *
 * <h2>Parameter contract</h2>
 *
 * {@link #getParameters()} and {@link #setParameters(List)} exchange exactly PyTorch's {@code
 * state_dict()} of that module: ten float32 tensors in the order and shapes of {@link
 * #PARAMETER_NAMES} / {@link #parameterShape(int)}, 62,006 values, C order. DJL names its
 * parameters positionally (e.g. {@code 01Conv2d_weight}, {@code 08Linear_bias}); they are mapped to
 * the PyTorch names <em>by position</em> in {@code block.getParameters()}, which lists the layers
 * in sequence and each layer's weight before its bias. The shapes are checked against the table
 * when the model is built, so a change in DJL's ordering fails loudly instead of scrambling
 * weights.
 *
 * <h2>Initialisation</h2>
 *
 * {@link #create(long)} initialises like PyTorch's default for {@code nn.Conv2d}/{@code nn.Linear}:
 * every weight and bias is drawn uniformly from {@code [-1/sqrt(fan_in), 1/sqrt(fan_in)]} (that is
 * what {@code kaiming_uniform_(a=sqrt(5))} and the bias rule reduce to), fan_in being in_channels x
 * 5 x 5 for the convolutions and in_features for the linear layers. The draws come from a {@link
 * SplittableRandom} seeded with {@code seed}, so the same seed gives the same weights on every
 * machine. (The distribution matches PyTorch; the values do not, PyTorch's generator differs.) In a
 * federation the server's initial parameters usually overwrite them anyway.
 *
 * <p>Not thread-safe; use one instance from one thread at a time. Close it to free native memory.
 */
public final class CifarNet implements AutoCloseable {
  /** PyTorch {@code state_dict()} keys, in order. */
  public static final List<String> PARAMETER_NAMES =
      List.of(
          "conv1.weight", "conv1.bias",
          "conv2.weight", "conv2.bias",
          "fc1.weight", "fc1.bias",
          "fc2.weight", "fc2.bias",
          "fc3.weight", "fc3.bias");

  private static final long[][] SHAPES = {
    {6, 3, 5, 5}, {6},
    {16, 6, 5, 5}, {16},
    {120, 400}, {120},
    {84, 120}, {84},
    {10, 84}, {10}
  };

  /** Number of float values over all parameters: 62,006. */
  public static final int TOTAL_VALUES;

  static {
    long total = 0;
    for (long[] s : SHAPES) {
      total += NDArray.elementCount(s);
    }
    TOTAL_VALUES = Math.toIntExact(total);
  }

  private final Model model;
  private final List<Parameter> parameters; // in PARAMETER_NAMES order

  private CifarNet(Model model, List<Parameter> parameters) {
    this.model = model;
    this.parameters = parameters;
  }

  /** The PyTorch shape of parameter {@code i} (a copy). */
  public static long[] parameterShape(int i) {
    return SHAPES[i].clone();
  }

  /**
   * Builds the model on the PyTorch engine, initialised as described in the class comment.
   *
   * @throws ai.djl.engine.EngineException if libtorch cannot be loaded
   * @throws IllegalStateException if DJL's parameters do not line up with {@link #PARAMETER_NAMES}
   */
  public static CifarNet create(long seed) {
    Model model = Model.newInstance("cifar10-cnn", "PyTorch");
    try {
      SequentialBlock block = buildBlock();
      model.setBlock(block);
      block.initialize(
          model.getNDManager(),
          DataType.FLOAT32,
          new Shape(1, LabeledImages.CHANNELS, LabeledImages.HEIGHT, LabeledImages.WIDTH));
      CifarNet net = new CifarNet(model, mapParameters(block));
      net.setParameters(pytorchStyleInit(seed));
      return net;
    } catch (RuntimeException | Error e) {
      model.close();
      throw e;
    }
  }

  static SequentialBlock buildBlock() {
    SequentialBlock block = new SequentialBlock();
    block
        .add(Conv2d.builder().setKernelShape(new Shape(5, 5)).setFilters(6).build())
        .add(Activation::relu)
        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
        .add(Conv2d.builder().setKernelShape(new Shape(5, 5)).setFilters(16).build())
        .add(Activation::relu)
        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
        .add(Blocks.batchFlattenBlock())
        .add(Linear.builder().setUnits(120).build())
        .add(Activation::relu)
        .add(Linear.builder().setUnits(84).build())
        .add(Activation::relu)
        .add(Linear.builder().setUnits(LabeledImages.NUM_CLASSES).build());
    return block;
  }

  /** Maps DJL's positional parameters to the PyTorch names, by order; checks every shape. */
  private static List<Parameter> mapParameters(Block block) {
    List<Pair<String, Parameter>> djl = new ArrayList<>();
    for (Pair<String, Parameter> p : block.getParameters()) {
      djl.add(p);
    }
    if (djl.size() != SHAPES.length) {
      throw new IllegalStateException(
          "DJL block has "
              + djl.size()
              + " parameters, expected "
              + SHAPES.length
              + " ("
              + PARAMETER_NAMES
              + "); DJL's parameters: "
              + djlNames(djl));
    }
    List<Parameter> mapped = new ArrayList<>(SHAPES.length);
    for (int i = 0; i < SHAPES.length; i++) {
      Pair<String, Parameter> p = djl.get(i);
      long[] actual = p.getValue().getArray().getShape().getShape();
      if (!Arrays.equals(actual, SHAPES[i])) {
        throw new IllegalStateException(
            "DJL parameter #"
                + i
                + " '"
                + p.getKey()
                + "' has shape "
                + Arrays.toString(actual)
                + " but is mapped to PyTorch's "
                + PARAMETER_NAMES.get(i)
                + " of shape "
                + Arrays.toString(SHAPES[i])
                + "; DJL's parameters: "
                + djlNames(djl));
      }
      mapped.add(p.getValue());
    }
    return Collections.unmodifiableList(mapped);
  }

  private static List<String> djlNames(List<Pair<String, Parameter>> djl) {
    List<String> names = new ArrayList<>();
    for (Pair<String, Parameter> p : djl) {
      names.add(p.getKey());
    }
    return names;
  }

  /** Weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from each layer's weight. */
  static List<NDArray> pytorchStyleInit(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<NDArray> out = new ArrayList<>(SHAPES.length);
    for (int i = 0; i < SHAPES.length; i++) {
      long[] weightShape = SHAPES[i - i % 2]; // a bias shares its layer's weight fan_in
      long fanIn = NDArray.elementCount(weightShape) / weightShape[0];
      double bound = 1.0 / Math.sqrt(fanIn);
      float[] v = new float[(int) NDArray.elementCount(SHAPES[i])];
      for (int j = 0; j < v.length; j++) {
        v[j] = (float) ((rng.nextDouble() * 2 - 1) * bound);
      }
      out.add(NDArray.ofFloats(v, SHAPES[i]));
    }
    return out;
  }

  /** The ten parameters as float32 arrays in PyTorch's state_dict order and shapes (copies). */
  public List<NDArray> getParameters() {
    List<NDArray> out = new ArrayList<>(parameters.size());
    for (int i = 0; i < parameters.size(); i++) {
      out.add(NDArray.ofFloats(parameters.get(i).getArray().toFloatArray(), SHAPES[i]));
    }
    return out;
  }

  /**
   * Replaces all parameters. Validates everything before changing anything.
   *
   * @throws IllegalArgumentException if the count is not 10, or a tensor is not float32 or has
   *     another shape than PyTorch's; the message names the tensor and what was expected
   */
  public void setParameters(List<NDArray> values) {
    Objects.requireNonNull(values, "values");
    if (values.size() != SHAPES.length) {
      throw new IllegalArgumentException(
          "expected "
              + SHAPES.length
              + " parameter tensors "
              + PARAMETER_NAMES
              + ", got "
              + values.size());
    }
    for (int i = 0; i < SHAPES.length; i++) {
      NDArray v = values.get(i);
      String name = PARAMETER_NAMES.get(i);
      if (v == null) {
        throw new IllegalArgumentException("parameter " + i + " (" + name + ") is null");
      }
      if (v.dtype() != DType.FLOAT32) {
        throw new IllegalArgumentException(
            "parameter " + i + " (" + name + ") must be float32, got " + v.dtype().numpyName());
      }
      if (!Arrays.equals(v.shape(), SHAPES[i])) {
        throw new IllegalArgumentException(
            "parameter "
                + i
                + " ("
                + name
                + ") must have shape "
                + Arrays.toString(SHAPES[i])
                + ", got "
                + Arrays.toString(v.shape()));
      }
    }
    for (int i = 0; i < SHAPES.length; i++) {
      parameters.get(i).getArray().set(FloatBuffer.wrap(values.get(i).toFloatArray()));
    }
  }

  /** The DJL parameters in {@link #PARAMETER_NAMES} order (the live arrays, not copies). */
  List<Parameter> parameters() {
    return parameters;
  }

  /** The DJL model (owned by this object). */
  Model model() {
    return model;
  }

  @Override
  public void close() {
    model.close();
  }
}
