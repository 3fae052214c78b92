package dev.flowerjava.server;

import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A scripted {@link ClientProxy} without a network: each call answers with what its function
 * returns for the instruction. Records calls and disconnects; a disconnect unregisters it from its
 * manager (as the gRPC proxy does) when one is given.
 */
public final class FakeClient implements ClientProxy {
  private final String cid;
  private volatile Function<FitIns, CompletableFuture<FitRes>> onFit =
      ins -> CompletableFuture.failedFuture(new AssertionError("fit was not scripted"));
  private volatile Function<EvaluateIns, CompletableFuture<EvaluateRes>> onEvaluate =
      ins -> CompletableFuture.failedFuture(new AssertionError("evaluate was not scripted"));
  private volatile Function<GetParametersIns, CompletableFuture<GetParametersRes>> onGetParameters =
      ins -> CompletableFuture.failedFuture(new AssertionError("getParameters was not scripted"));
  private volatile Function<GetPropertiesIns, CompletableFuture<GetPropertiesRes>> onGetProperties =
      ins -> CompletableFuture.failedFuture(new UnsupportedOperationException("getProperties"));
  private volatile ClientManager manager;

  public final AtomicInteger fitCalls = new AtomicInteger();
  public final AtomicInteger evaluateCalls = new AtomicInteger();
  public final AtomicInteger getParametersCalls = new AtomicInteger();
  public final AtomicInteger getPropertiesCalls = new AtomicInteger();
  public final List<String> disconnectReasons = new CopyOnWriteArrayList<>();
  public final List<Long> reconnects = new CopyOnWriteArrayList<>();

  public FakeClient(String cid) {
    this.cid = cid;
  }

  /** Registers with {@code m}, which a later {@link #disconnect} leaves. */
  public FakeClient registerWith(ClientManager m) {
    this.manager = m;
    m.register(this);
    return this;
  }

  public FakeClient onFit(Function<FitIns, CompletableFuture<FitRes>> f) {
    this.onFit = f;
    return this;
  }

  public FakeClient onEvaluate(Function<EvaluateIns, CompletableFuture<EvaluateRes>> f) {
    this.onEvaluate = f;
    return this;
  }

  public FakeClient onGetParameters(
      Function<GetParametersIns, CompletableFuture<GetParametersRes>> f) {
    this.onGetParameters = f;
    return this;
  }

  /** Answers every getProperties with OK and {@code properties}. */
  public FakeClient withProperties(ScalarMap properties) {
    this.onGetProperties =
        ins -> CompletableFuture.completedFuture(new GetPropertiesRes(Status.OK, properties));
    return this;
  }

  public FakeClient onGetProperties(
      Function<GetPropertiesIns, CompletableFuture<GetPropertiesRes>> f) {
    this.onGetProperties = f;
    return this;
  }

  /** Answers every fit with OK, {@code parameters} and {@code numExamples}. */
  public FakeClient fitsWith(Parameters parameters, long numExamples) {
    return onFit(
        ins ->
            CompletableFuture.completedFuture(
                new FitRes(Status.OK, parameters, numExamples, ScalarMap.empty())));
  }

  /** Answers every evaluate with OK, {@code loss} and {@code numExamples}. */
  public FakeClient evaluatesWith(float loss, long numExamples) {
    return onEvaluate(
        ins ->
            CompletableFuture.completedFuture(
                new EvaluateRes(Status.OK, loss, numExamples, ScalarMap.empty())));
  }

  @Override
  public String cid() {
    return cid;
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    getPropertiesCalls.incrementAndGet();
    return onGetProperties.apply(ins);
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    getParametersCalls.incrementAndGet();
    return onGetParameters.apply(ins);
  }

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    fitCalls.incrementAndGet();
    return onFit.apply(ins);
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    evaluateCalls.incrementAndGet();
    return onEvaluate.apply(ins);
  }

  @Override
  public void reconnect(long seconds) {
    reconnects.add(seconds);
  }

  @Override
  public void disconnect(String reason) {
    disconnectReasons.add(reason);
    ClientManager m = manager;
    if (m != null) {
      m.unregister(this);
    }
  }

  @Override
  public String toString() {
    return "fake client " + cid;
  }
}
