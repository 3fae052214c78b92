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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * One client's {@code Join} stream seen from the server: a small state machine that allows one
 * outstanding instruction at a time and matches each reply to it by type.
 *
 * <p>States: OPEN (idle) -> AWAITING (instruction sent) -> OPEN ... -> CLOSED. Once CLOSED, any
 * pending and later call fails with {@link ClientDisconnectedException}. CLOSING is CLOSED seen
 * from the transport thread: the client has been told (see {@link #refuse}) and the rest follows
 * when gRPC reports the stream's end.
 *
 * <p>Inbound flow control is manual: exactly one message is requested at a time, the next only
 * after the previous one was handled, so gRPC never queues a client's messages ahead of the round
 * loop. {@link InboundCharge} watches the bytes of that one message as they are read.
 */
final class GrpcClientProxy implements ClientProxy {
  private enum State {
    OPEN,
    AWAITING,
    CLOSING,
    CLOSED
  }

  /** Told once when the proxy closes, after the pending call (if any) has failed. */
  interface OnClose {
    /**
     * @param reason why the stream ended
     * @param expected true when the client said goodbye or the server let it go; false when the
     *     stream broke, the client misbehaved or its reply was refused
     */
    void closed(String reason, boolean expected);
  }

  private final String cid;
  private final ServerCallStreamObserver<Outbound> toClient;
  private final OnClose onClose;
  private final InstructionCache instructions;
  private final OutboundWindow window;
  // bytes of the outbound window this stream's last large message holds (see OutboundWindow)
  private final AtomicLong windowBytes = new AtomicLong();
  // bytes of the in-flight budget reserved for the reply to that message (see OutboundWindow)
  private final AtomicLong replyBytes = new AtomicLong();

  // guarded by this
  private State state = State.OPEN;
  private ClientMessage.MsgCase expected;
  private CompletableFuture<ClientMessage> pending;
  private String closeReason;
  private boolean toldToLeave; // a ReconnectIns was sent: the stream's end is expected
  private boolean overBudget; // refused for the in-flight budget (a failure reason of its own)
  // read by the transport thread without the lock (it must never wait for a stream write)
  private volatile boolean awaitingReply;
  // reservation of a reply delivered whose charge is not yet released (the transport thread only)
  private long delivered;

  GrpcClientProxy(
      String cid,
      ServerCallStreamObserver<Outbound> toClient,
      InstructionCache instructions,
      OutboundWindow window,
      OnClose onClose) {
    this.cid = cid;
    this.toClient = toClient;
    this.instructions = instructions;
    this.window = window;
    this.onClose = onClose;
  }

  @Override
  public String cid() {
    return cid;
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    return send(
        Outbound.of(ProtoSerde.toProto(ins)),
        ClientMessage.MsgCase.GET_PROPERTIES_RES,
        m -> ProtoSerde.fromProto(m.getGetPropertiesRes()));
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    return send(
        Outbound.of(ProtoSerde.toProto(ins)),
        ClientMessage.MsgCase.GET_PARAMETERS_RES,
        m -> ProtoSerde.fromProto(m.getGetParametersRes()));
  }

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    // every client of a round gets the same instance: its model is encoded once, then shared
    return send(
        instructions.get(ins, ProtoSerde::toProto),
        ClientMessage.MsgCase.FIT_RES,
        m -> ProtoSerde.fromProto(m.getFitRes()));
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    return send(
        instructions.get(ins, ProtoSerde::toProto),
        ClientMessage.MsgCase.EVALUATE_RES,
        m -> ProtoSerde.fromProto(m.getEvaluateRes()));
  }

  private <T> CompletableFuture<T> send(
      Outbound message, ClientMessage.MsgCase replyCase, Function<ClientMessage, T> decode) {
    CompletableFuture<ClientMessage> reply = new CompletableFuture<>();
    synchronized (this) {
      if (state == State.CLOSED) {
        return CompletableFuture.failedFuture(new ClientDisconnectedException(cid, closeReason));
      }
      if (state == State.AWAITING) {
        throw new IllegalStateException(
            "client " + cid + " is still answering " + expected + "; one instruction at a time");
      }
      if (state != State.OPEN) {
        return CompletableFuture.failedFuture(new ClientDisconnectedException(cid, closeReason));
      }
      state = State.AWAITING;
      awaitingReply = true;
      expected = replyCase;
      pending = reply;
    }
    // now, or once earlier large sends have drained; never blocks the round loop
    window.submit(this, message);
    // decoding runs on the caller's completion path, so one bad reply fails only its own future
    return reply.thenApply(decode);
  }

  /**
   * Writes an instruction sent by {@link #send} to the stream, unless the proxy closed meanwhile.
   *
   * @return whether it was written
   */
  boolean write(Outbound message) {
    RuntimeException failure;
    synchronized (this) {
      if (state != State.AWAITING) {
        return false; // closed while the send waited for the window
      }
      try {
        toClient.onNext(message); // StreamObserver is not thread-safe: write under the lock
        return true;
      } catch (RuntimeException e) {
        failure = e;
      }
    }
    close("sending failed: " + failure, Status.Code.ABORTED, false);
    return false;
  }

  /** True when gRPC has (almost) nothing of this stream's left to write to the socket. */
  boolean isReady() {
    return toClient.isReady();
  }

  void holdWindowBytes(long bytes) {
    // add, not set: the next instruction can start before gRPC's onReady for the last one has run,
    // and bytes overwritten here would never be given back to the window
    windowBytes.addAndGet(bytes);
  }

  long takeWindowBytes() {
    return windowBytes.getAndSet(0);
  }

  void holdReplyBytes(long bytes) {
    replyBytes.addAndGet(bytes);
  }

  long takeReplyBytes() {
    return replyBytes.getAndSet(0);
  }

  /** gRPC's onReady: what this stream held of the outbound window has left; others may start. */
  void onReady() {
    if (toClient.isReady()) {
      window.release(this);
    }
  }

  /** True while an instruction waits for its reply: only then may a client send a large message. */
  boolean awaitingReply() {
    return awaitingReply;
  }

  /** A message arrived from the client; asks for the next one unless the stream is closing. */
  void onClientMessage(ClientMessage message) {
    CompletableFuture<ClientMessage> toComplete;
    String violation;
    synchronized (this) {
      if (state == State.CLOSED || state == State.CLOSING) {
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
        awaitingReply = false;
        // moved aside before the round loop can send the next instruction and reserve anew
        delivered += replyBytes.getAndSet(0);
        toClient.request(1);
      }
    }
    if (message.hasDisconnectRes()) {
      close("client left (" + message.getDisconnectRes().getReason() + ")", null, true);
    } else if (violation != null) {
      close(violation, Status.Code.ABORTED, false);
    } else {
      toComplete.complete(message);
    }
  }

  /**
   * The reservation of the reply just handed over by {@link #onClientMessage}; the service gives it
   * back once the reply's budget charge is released, not before (the transport thread only).
   */
  long takeDeliveredReservation() {
    long bytes = delivered;
    delivered = 0;
    return bytes;
  }

  /** A message arrived that is not a {@code ClientMessage}: the client is closed at once. */
  void onUnparsableMessage(String reason) {
    close(reason, Status.Code.INVALID_ARGUMENT, false);
  }

  /**
   * Ends the call at once with {@code status}, from the transport thread while it reads a message:
   * no more of it is read. The pending call fails and the proxy is unregistered when gRPC reports
   * the stream's end ({@link #onStreamEnd}), on the call's own thread, so that round-loop callbacks
   * never run on (and stall) a transport thread.
   */
  void refuse(Status status) {
    synchronized (this) {
      if (state == State.CLOSED || state == State.CLOSING) {
        return;
      }
      state = State.CLOSING;
      awaitingReply = false;
      closeReason = status.getDescription();
      overBudget = status.getCode() == Status.Code.RESOURCE_EXHAUSTED;
      try {
        toClient.onError(status.asRuntimeException());
      } catch (RuntimeException ignored) {
        // the stream is already gone; its end is reported all the same
      }
    }
  }

  @Override
  public void reconnect(long seconds) {
    synchronized (this) {
      if (state == State.CLOSED || state == State.CLOSING) {
        return;
      }
      toClient.onNext(
          Outbound.of(
              ServerMessage.newBuilder()
                  .setReconnectIns(ServerMessage.ReconnectIns.newBuilder().setSeconds(seconds))
                  .build()));
      toldToLeave = true;
      // the DisconnectRes that answers this closes the proxy
    }
  }

  @Override
  public void disconnect(String reason) {
    close(reason, Status.Code.ABORTED, true);
  }

  /**
   * The stream ended, whatever ended it: the client (half-close, cancel), the transport (broken
   * connection, keepalive), gRPC itself (oversize message) or our own close.
   */
  void onStreamEnd(String reason) {
    close(reason, Status.Code.ABORTED, false);
  }

  /**
   * Closes the proxy once. The client is told under the lock (stream writes must not overlap); the
   * pending call is failed and the proxy unregistered after it, so that completion callbacks (which
   * take the round loop's lock) never run while this lock is held.
   *
   * @param code the status the stream ends with; null when the client said goodbye, so the stream
   *     ends normally rather than with an error
   * @param expected see {@link OnClose#closed}
   */
  private void close(String reason, Status.Code code, boolean expected) {
    CompletableFuture<ClientMessage> failed;
    boolean refusedForBudget;
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      boolean tell = state != State.CLOSING;
      if (!tell) {
        reason = closeReason; // the client was told already; this is the stream's end arriving
        expected = false;
      } else if (toldToLeave) {
        expected = true; // e.g. flwr clients often reset the stream right after their goodbye
      }
      // CLOSED before telling: with a direct executor gRPC reports the end from inside onError
      state = State.CLOSED;
      awaitingReply = false;
      closeReason = reason;
      failed = pending;
      pending = null;
      refusedForBudget = overBudget;
      if (tell) {
        try {
          if (code == null) {
            toClient.onCompleted();
          } else if (!toClient.isCancelled()) {
            toClient.onError(Status.fromCode(code).withDescription(reason).asRuntimeException());
          }
        } catch (RuntimeException ignored) {
          // the stream is already gone; nothing left to tell the client
        }
      }
    }
    window.release(this); // a stream that ended holds nothing
    window.replied(this); // and awaits no reply
    if (failed != null) {
      failed.completeExceptionally(new ClientDisconnectedException(cid, reason, refusedForBudget));
    }
    onClose.closed(reason, expected);
  }

  @Override
  public String toString() {
    return "client " + cid;
  }
}
