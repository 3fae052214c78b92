package dev.flowerjava.probe;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.Parameters;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A rogue grpc-bidi client: one connection of its own, and {@code FlowerService.Join} calls on it
 * that carry raw bytes, so it can send what no honest client would (unparsable messages, huge
 * unsolicited ones, absurd {@code num_examples}).
 */
final class RogueJoin implements AutoCloseable {
  static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<byte[], byte[]> JOIN =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName("flwr.proto.FlowerService/Join")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();

  /** What the rogue answers to one instruction of the server (nothing for an empty list). */
  interface Responder {
    List<byte[]> reply(ServerMessage instruction);
  }

  private final ManagedChannel channel;

  RogueJoin(int port) {
    this.channel =
        Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
            .maxInboundMessageSize(64 * 1024 * 1024)
            .build();
  }

  /** Opens a Join call that answers each instruction with {@code responder}. */
  Session join(Responder responder) {
    return join(responder, null);
  }

  /**
   * Opens a Join call; {@code onReady} (may be null) runs whenever the call can take more bytes
   * without buffering them in this process.
   */
  Session join(Responder responder, java.util.function.Consumer<Session> onReady) {
    Session s = new Session(channel.newCall(JOIN, CallOptions.DEFAULT), responder, onReady);
    s.start();
    return s;
  }

  @Override
  public void close() {
    try {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
    }
  }

  /** One Join call. */
  static final class Session {
    private final ClientCall<byte[], byte[]> call;
    private final Responder responder;
    private final java.util.function.Consumer<Session> onReady;
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final List<ServerMessage> received = new CopyOnWriteArrayList<>();
    volatile int sent;

    private Session(
        ClientCall<byte[], byte[]> call,
        Responder responder,
        java.util.function.Consumer<Session> onReady) {
      this.call = call;
      this.responder = responder;
      this.onReady = onReady;
    }

    private void start() {
      synchronized (this) {
        call.start(
            new ClientCall.Listener<>() {
              @Override
              public void onMessage(byte[] message) {
                ServerMessage m;
                try {
                  m = ServerMessage.parseFrom(message);
                } catch (InvalidProtocolBufferException e) {
                  m = ServerMessage.getDefaultInstance();
                }
                received.add(m);
                for (byte[] reply : responder.reply(m)) {
                  send(reply);
                }
                synchronized (Session.this) {
                  call.request(1);
                }
              }

              @Override
              public void onReady() {
                if (onReady != null) {
                  onReady.accept(Session.this);
                }
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
              }
            },
            new Metadata());
        call.request(1);
      }
    }

    /** Sends raw bytes as one message of the stream. */
    synchronized void send(byte[] message) {
      if (closed.isDone()) {
        return;
      }
      call.sendMessage(message);
      sent++;
    }

    synchronized boolean isReady() {
      return !closed.isDone() && call.isReady();
    }

    /** Ends our half of the stream. */
    synchronized void halfClose() {
      if (!closed.isDone()) {
        call.halfClose();
      }
    }

    void cancel() {
      synchronized (this) {
        call.cancel("probe done", null);
      }
    }
  }

  // ------------------------------------------------------------------ messages

  static byte[] npy(double value) {
    return NpyCodec.encode(NDArray.ofDoubles(new double[] {value}, 1));
  }

  static Parameters parameters(byte[]... tensors) {
    Parameters.Builder p = Parameters.newBuilder().setTensorType("numpy.ndarray");
    for (byte[] t : tensors) {
      p.addTensors(ByteString.copyFrom(t));
    }
    return p.build();
  }

  static dev.flowerjava.internal.proto.Status ok() {
    return dev.flowerjava.internal.proto.Status.newBuilder()
        .setCode(dev.flowerjava.internal.proto.Code.OK)
        .setMessage("Success")
        .build();
  }

  static byte[] getParametersRes(Parameters p) {
    return ClientMessage.newBuilder()
        .setGetParametersRes(
            ClientMessage.GetParametersRes.newBuilder().setStatus(ok()).setParameters(p))
        .build()
        .toByteArray();
  }

  static byte[] fitRes(Parameters p, long numExamples) {
    return ClientMessage.newBuilder()
        .setFitRes(
            ClientMessage.FitRes.newBuilder()
                .setStatus(ok())
                .setParameters(p)
                .setNumExamples(numExamples))
        .build()
        .toByteArray();
  }

  static byte[] evaluateRes(float loss, long numExamples) {
    return ClientMessage.newBuilder()
        .setEvaluateRes(
            ClientMessage.EvaluateRes.newBuilder()
                .setStatus(ok())
                .setLoss(loss)
                .setNumExamples(numExamples))
        .build()
        .toByteArray();
  }

  static byte[] disconnectRes() {
    return ClientMessage.newBuilder()
        .setDisconnectRes(ClientMessage.DisconnectRes.getDefaultInstance())
        .build()
        .toByteArray();
  }

  /**
   * A plausible client: the model [value] to get_parameters, fit and evaluate with {@code
   * examples}; acknowledges a reconnect instruction.
   */
  static Responder plausible(double value, long examples) {
    return m ->
        switch (m.getMsgCase()) {
          case GET_PARAMETERS_INS -> List.of(getParametersRes(parameters(npy(value))));
          case FIT_INS -> List.of(fitRes(parameters(npy(value)), examples));
          case EVALUATE_INS -> List.of(evaluateRes(0f, examples));
          case RECONNECT_INS -> List.of(disconnectRes());
          default -> List.of();
        };
  }
}
