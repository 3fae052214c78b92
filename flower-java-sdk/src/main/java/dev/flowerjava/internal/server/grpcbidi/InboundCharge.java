package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.internal.server.ServerMetrics;
import io.grpc.Context;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.util.ArrayDeque;

/**
 * Charges the bytes of one {@code Join} stream's inbound messages to the server's {@link
 * InFlightBudget} as gRPC reads them off the connection, before a message is whole.
 *
 * <p>gRPC's deframer reports each chunk of a message body it moves out of the HTTP/2 flow-control
 * window into its own buffer ({@link #inboundWireSize}), on the transport thread, and reads only
 * messages that were requested. That is the earliest point a message costs memory, so this is where
 * it is charged and, if it does not fit, refused: the call ends at once, and the rest of the
 * message is never read. A message read while no instruction is outstanding may be at most {@link
 * #UNSOLICITED_LIMIT} bytes (a {@code DisconnectRes} is a few); past that the client is closed as a
 * protocol violation. The bytes are released once the message has been handed to the round loop
 * ({@link #delivered}), or when the stream ends.
 *
 * <p>Charged: the message body as it arrived (compressed, if the client compressed it).
 */
final class InboundCharge extends ServerStreamTracer {
  /** Lets {@link FlowerServiceImpl#join} find the charge of its own stream. */
  static final Context.Key<InboundCharge> KEY = Context.key("flowerjava-inbound-charge");

  /** Most bytes of a message read while the client was asked nothing. */
  static final int UNSOLICITED_LIMIT = 4096;

  private final InFlightBudget budget;
  private final ServerMetrics metrics;

  // guarded by this
  private GrpcClientProxy proxy;
  private long held; // charged and not yet released
  private long current; // charged for the message being read
  private final ArrayDeque<Long> read =
      new ArrayDeque<>(); // charges of whole, undelivered messages
  private boolean refused;
  private boolean ended;
  private Status endStatus;

  InboundCharge(InFlightBudget budget) {
    this(budget, ServerMetrics.none());
  }

  InboundCharge(InFlightBudget budget, ServerMetrics metrics) {
    this.budget = budget;
    this.metrics = metrics;
  }

  /** Makes one charge per stream. */
  static ServerStreamTracer.Factory factory(InFlightBudget budget, ServerMetrics metrics) {
    return new ServerStreamTracer.Factory() {
      @Override
      public ServerStreamTracer newServerStreamTracer(
          String fullMethodName, io.grpc.Metadata headers) {
        return new InboundCharge(budget, metrics);
      }
    };
  }

  synchronized void attach(GrpcClientProxy proxy) {
    this.proxy = proxy;
  }

  @Override
  public Context filterContext(Context context) {
    return context.withValue(KEY, this);
  }

  @Override
  public void inboundWireSize(long bytes) {
    if (bytes <= 0) {
      return; // transports that do not measure (in-process) report -1
    }
    GrpcClientProxy toRefuse;
    Status refusal;
    synchronized (this) {
      if (ended || refused || proxy == null) {
        return;
      }
      long soFar = current + bytes;
      if (!proxy.awaitingReply() && soFar > UNSOLICITED_LIMIT) {
        refusal =
            Status.ABORTED.withDescription(
                "protocol violation: sent a message of more than "
                    + UNSOLICITED_LIMIT
                    + " bytes without an instruction");
      } else if (!budget.tryAcquire(bytes)) {
        refusal =
            Status.RESOURCE_EXHAUSTED.withDescription(
                "reply refused after "
                    + soFar
                    + " bytes: the server's in-flight budget for client messages is full ("
                    + budget.inUse()
                    + " of "
                    + budget.limit()
                    + " bytes in use; FlowerServer.Builder.inFlightBudget)");
      } else {
        held += bytes;
        current = soFar;
        return;
      }
      refused = true;
      toRefuse = proxy;
    }
    toRefuse.refuse(refusal);
  }

  @Override
  public synchronized void inboundMessageRead(
      int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    // the metrics count whole messages (once each, not per chunk); -1 where not measured
    metrics.received(ServerMetrics.Transport.GRPC_BIDI, optionalWireSize);
    if (!ended) {
      read.add(current);
      current = 0;
    }
  }

  /** gRPC reports each outbound message's size once, after framing it. */
  @Override
  public void outboundWireSize(long bytes) {
    metrics.sent(ServerMetrics.Transport.GRPC_BIDI, bytes);
  }

  /** The oldest whole message has been handled: its bytes go back to the budget. */
  synchronized void delivered() {
    Long bytes = read.poll();
    if (bytes != null && bytes > 0) {
      held -= bytes;
      budget.release(bytes);
    }
  }

  @Override
  public synchronized void streamClosed(Status status) {
    if (ended) {
      return;
    }
    ended = true;
    endStatus = status;
    if (held > 0) {
      budget.release(held);
    }
    held = 0;
    current = 0;
    read.clear();
  }

  /**
   * Why the stream ended, as gRPC reported it to this tracer (which it does before it tells the
   * call), e.g. {@code "UNAVAILABLE: Keepalive failed. The connection is likely gone"}.
   */
  synchronized String endReason(String fallback) {
    if (endStatus == null || endStatus.isOk()) {
      return fallback;
    }
    String description = endStatus.getDescription();
    return "stream ended: " + endStatus.getCode() + (description == null ? "" : ": " + description);
  }
}
