package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * One client's {@code Join} stream seen from the server: a small state machine that allows one
 * outstanding instruction at a time and matches each reply to it by type.
 *
 * <p>States: OPEN (idle) -> AWAITING (instruction sent) -> OPEN ... -> CLOSED. Once CLOSED, any
 * pending and later call fails with {@link ClientDisconnectedException}.
 */
final class GrpcClientProxy implements ClientProxy {
  private enum State {
    OPEN,
    AWAITING,
    CLOSED
  }

  private final String cid;
  private final ServerCallStreamObserver<ServerMessage> toClient;
  private final Runnable onClose;

  // guarded by this
  private State state = State.OPEN;
  private ClientMessage.MsgCase expected;
  private CompletableFuture<ClientMessage> pending;
  private String closeReason;

  GrpcClientProxy(String cid, ServerCallStreamObserver<ServerMessage> toClient, Runnable onClose) {
    this.cid = cid;
    this.toClient = toClient;
    this.onClose = onClose;
  }

  @Override
  public String cid() {
    return cid;
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    return send(
        ProtoSerde.toProto(ins),
        ClientMessage.MsgCase.GET_PROPERTIES_RES,
        m -> ProtoSerde.fromProto(m.getGetPropertiesRes()));
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    return send(
        ProtoSerde.toProto(ins),
        ClientMessage.MsgCase.GET_PARAMETERS_RES,
        m -> ProtoSerde.fromProto(m.getGetParametersRes()));
  }

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    return send(
        ProtoSerde.toProto(ins),
        ClientMessage.MsgCase.FIT_RES,
        m -> ProtoSerde.fromProto(m.getFitRes()));
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    return send(
        ProtoSerde.toProto(ins),
        ClientMessage.MsgCase.EVALUATE_RES,
        m -> ProtoSerde.fromProto(m.getEvaluateRes()));
  }

  private <T> CompletableFuture<T> send(
      ServerMessage message, ClientMessage.MsgCase replyCase, Function<ClientMessage, T> decode) {
    CompletableFuture<ClientMessage> reply = new CompletableFuture<>();
    RuntimeException sendFailure = null;
    synchronized (this) {
      if (state == State.CLOSED) {
        return CompletableFuture.failedFuture(new ClientDisconnectedException(cid, closeReason));
      }
      if (state == State.AWAITING) {
        throw new IllegalStateException(
            "client " + cid + " is still answering " + expected + "; one instruction at a time");
      }
      state = State.AWAITING;
      expected = replyCase;
      pending = reply;
      try {
        toClient.onNext(message); // StreamObserver is not thread-safe: write under the lock
      } catch (RuntimeException e) {
        sendFailure = e;
      }
    }
    if (sendFailure != null) {
      close("sending failed: " + sendFailure, false);
      throw sendFailure;
    }
    // decoding runs on the caller's completion path, so one bad reply fails only its own future
    return reply.thenApply(decode);
  }

  /** A message arrived from the client. */
  void onClientMessage(ClientMessage message) {
    CompletableFuture<ClientMessage> toComplete;
    String violation;
    synchronized (this) {
      if (state == State.CLOSED) {
        return; // late traffic on a stream we already gave up on
      }
      if (message.hasDisconnectRes()) {
        violation = null;
        toComplete = null;
      } else if (state != State.AWAITING) {
        violation = "protocol violation: sent " + message.getMsgCase() + " without an instruction";
        toComplete = null;
      } else if (message.getMsgCase() != expected) {
        violation =
            "protocol violation: answered "
                + message.getMsgCase()
                + " where "
                + expected
                + " was expected";
        toComplete = null;
      } else {
        violation = null;
        toComplete = pending;
        pending = null;
        expected = null;
        state = State.OPEN;
      }
    }
    if (message.hasDisconnectRes()) {
      close("client left (" + message.getDisconnectRes().getReason() + ")", true);
    } else if (violation != null) {
      close(violation, false);
    } else {
      toComplete.complete(message);
    }
  }

  @Override
  public void reconnect(long seconds) {
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      toClient.onNext(
          ServerMessage.newBuilder()
              .setReconnectIns(ServerMessage.ReconnectIns.newBuilder().setSeconds(seconds))
              .build());
      // the DisconnectRes that answers this closes the proxy
    }
  }

  @Override
  public void disconnect(String reason) {
    close(reason, false);
  }

  /** The stream ended from the client's side or the transport broke. */
  void onStreamEnd(String reason) {
    close(reason, false);
  }

  /**
   * Closes the proxy once. The client is told under the lock (stream writes must not overlap); the
   * pending call is failed and the proxy unregistered after it, so that completion callbacks (which
   * take the round loop's lock) never run while this lock is held.
   *
   * @param graceful the client said goodbye, so the stream ends normally rather than with an error
   */
  private void close(String reason, boolean graceful) {
    CompletableFuture<ClientMessage> failed;
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      state = State.CLOSED;
      closeReason = reason;
      failed = pending;
      pending = null;
      try {
        if (graceful) {
          toClient.onCompleted();
        } else if (!toClient.isCancelled()) {
          toClient.onError(Status.ABORTED.withDescription(reason).asRuntimeException());
        }
      } catch (RuntimeException ignored) {
        // the stream is already gone; nothing left to tell the client
      }
    }
    if (failed != null) {
      failed.completeExceptionally(new ClientDisconnectedException(cid, reason));
    }
    onClose.run();
  }

  @Override
  public String toString() {
    return "client " + cid;
  }
}
