package dev.flowerjava.examples.cifar;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.examples.ConnectionOptions;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Joins a Flower server (Java or Python) with a {@link CifarClient} on one CIFAR-10 partition. */
@Command(
    name = "cifar-client",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Trains the CIFAR-10 CNN on one partition for a Flower server (Java or Python).")
public final class CifarClientMain implements Callable<Integer> {
  enum Progress {
    AUTO,
    ALWAYS,
    NEVER
  }

  @Mixin ConnectionOptions connection;

  @Option(
      names = "--partition-id",
      defaultValue = "0",
      description = "Which partition this client holds, 0-based (default: ${DEFAULT-VALUE})")
  int partitionId;

  @Option(
      names = "--num-partitions",
      defaultValue = "2",
      description = "Number of partitions of train and test set (default: ${DEFAULT-VALUE})")
  int numPartitions;

  static final class Split {
    @Option(names = "--iid", description = "Uniform random partitions (the default)")
    boolean iid;

    @Option(
        names = "--dirichlet-alpha",
        description = "Label-skewed partitions: per-class shares ~ Dirichlet(alpha)")
    Double dirichletAlpha;
  }

  @ArgGroup(exclusive = true)
  Split split;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description =
          "Seed of the partitioning, shared by all clients; also seeds this client's "
              + "shuffling together with the partition id (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--max-train", description = "Use at most this many training images")
  Integer maxTrain;

  @Option(names = "--max-test", description = "Use at most this many test images")
  Integer maxTest;

  @Option(
      names = "--local-epochs",
      defaultValue = "1",
      description =
          "Epochs per round unless the server sends 'local-epochs' (default: ${DEFAULT-VALUE})")
  int localEpochs;

  @Option(
      names = "--batch-size",
      defaultValue = "32",
      description = "Batch size unless the server sends 'batch-size' (default: ${DEFAULT-VALUE})")
  int batchSize;

  @Option(
      names = "--lr",
      defaultValue = "0.001",
      description =
          "SGD learning rate unless the server sends 'lr' (default: ${DEFAULT-VALUE}); "
              + "momentum is 0.9")
  double lr;

  @Option(
      names = "--threads",
      description =
          "libtorch intra-op threads (default: all processors; use 1 when two clients "
              + "share two cores)")
  Integer threads;

  @Option(names = "--data-dir", description = "CIFAR-10 directory (default: <repo>/.cache/cifar10)")
  Path dataDir;

  @Option(
      names = "--progress",
      defaultValue = "AUTO",
      description =
          "Per-epoch progress bars on stderr: ${COMPLETION-CANDIDATES} (default: "
              + "${DEFAULT-VALUE}, i.e. only on an interactive console)")
  Progress progress;

  @Override
  public Integer call() throws Exception {
    if (threads != null) {
      System.setProperty(DjlEnvironment.NUM_THREADS, Integer.toString(threads));
    }
    DjlEnvironment.configure();
    Path dir = dataDir != null ? dataDir : Cifar10.defaultDirectory();
    Partitioner partitioner =
        split != null && split.dirichletAlpha != null
            ? Partitioner.dirichlet(numPartitions, split.dirichletAlpha, seed)
            : Partitioner.iid(numPartitions, seed);
    CifarDataset train = Cifar10.load(dir, Cifar10.Split.TRAIN).partition(partitioner, partitionId);
    CifarDataset test = Cifar10.load(dir, Cifar10.Split.TEST).partition(partitioner, partitionId);
    if (maxTrain != null) {
      train = train.limit(maxTrain);
    }
    if (maxTest != null) {
      test = test.limit(maxTest);
    }
    System.err.printf(
        "client %d/%d: %d train and %d test images (%s)%n",
        partitionId, numPartitions, train.size(), test.size(), partitioner);
    boolean bars =
        progress == Progress.ALWAYS
            || (progress == Progress.AUTO && EpochProgress.interactiveByDefault());
    long clientSeed = seed * 31 + partitionId;
    try (CifarNet net = CifarNet.create(clientSeed);
        FlowerClient client = connection.builder().build()) {
      // Ctrl-C leaves cleanly: a SuperNode deactivates, a grpc-bidi client says goodbye
      Runtime.getRuntime().addShutdownHook(new Thread(client::close));
      client.start(
          new CifarClient(
              net,
              train,
              test,
              new CifarClient.Settings(localEpochs, batchSize, lr, clientSeed, bars)));
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(
        new CommandLine(new CifarClientMain())
            .setCaseInsensitiveEnumValuesAllowed(true)
            .execute(args));
  }
}
