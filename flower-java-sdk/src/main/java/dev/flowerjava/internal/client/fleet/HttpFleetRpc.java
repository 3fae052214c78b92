package dev.flowerjava.internal.client.fleet;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.GetRunResponse;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectResponse;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetResponse;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatResponse;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetResponse;
import dev.flowerjava.internal.security.NodeSigner;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * The Fleet API as protobuf over HTTP, as flwr 1.40+ SuperNodes speak it: each RPC is a {@code
 * POST} of the serialized request to its own path under {@code /v1/fleet/}, with content type
 * {@code application/protobuf}; the body of a 2xx answer is the serialized response. Identity
 * travels in the headers {@code flwr-public-key} and {@code flwr-signature} (base64) and {@code
 * flwr-timestamp}.
 */
public final class HttpFleetRpc implements FleetRpc {
  static final String MEDIA_TYPE = "application/protobuf";
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(5);
  private static final int MAX_ERROR_BODY = 2048;

  private final String baseUrl;
  private final NodeSigner signer;
  private final HttpClient http;

  /**
   * @param serverAddress {@code host:port} of the SuperLink's HTTP endpoint
   * @param sslContext TLS trust, or null for plain HTTP ({@code --insecure})
   */
  public HttpFleetRpc(String serverAddress, SSLContext sslContext, NodeSigner signer) {
    this(serverAddress, sslContext, signer, Duration.ofSeconds(10));
  }

  /**
   * As above; {@code connectTimeout} bounds the TCP (and TLS) connection, while every call is
   * bounded as a whole by its own timeout (30 s, 5 s for heartbeats).
   */
  public HttpFleetRpc(
      String serverAddress, SSLContext sslContext, NodeSigner signer, Duration connectTimeout) {
    Objects.requireNonNull(serverAddress, "serverAddress");
    this.signer = Objects.requireNonNull(signer, "signer");
    this.baseUrl = (sslContext == null ? "http://" : "https://") + serverAddress;
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(connectTimeout)
            .followRedirects(HttpClient.Redirect.NORMAL);
    if (sslContext != null) {
      b.sslContext(sslContext);
    }
    this.http = b.build();
  }

  /**
   * Over an {@link HttpClient} that many nodes share (many nodes in one JVM: one connection pool
   * and selector thread instead of one per node); closing this leaves the client open.
   *
   * @param https whether {@code http} was built with the SuperLink's TLS trust
   */
  public HttpFleetRpc(String serverAddress, boolean https, HttpClient http, NodeSigner signer) {
    this.baseUrl = (https ? "https://" : "http://") + Objects.requireNonNull(serverAddress);
    this.http = Objects.requireNonNull(http, "http");
    this.signer = Objects.requireNonNull(signer, "signer");
  }

  @Override
  public String target() {
    return baseUrl;
  }

  private HttpRequest signed(String path, byte[] body, Duration timeout) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(baseUrl + "/v1/fleet/" + path))
            .timeout(timeout)
            .header("content-type", MEDIA_TYPE)
            .header("accept", MEDIA_TYPE)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    signer.sign().httpHeaders().forEach(builder::header);
    return builder.build();
  }

  /**
   * The request was not served: the connection ended before any byte of the answer (the JDK
   * client's words for it), or no connection was made at all (a loaded loopback server refused or
   * dropped the connect; a fresh-clone run failed on one in FleetHttpServerTest).
   */
  private static boolean staleConnection(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.io.EOFException
          || t instanceof java.net.ConnectException
          || (t.getMessage() != null
              && t.getMessage().contains("header parser received no bytes"))) {
        return true;
      }
    }
    return false;
  }

  private <T extends MessageLite> T call(
      String path, MessageLite request, Parser<T> parser, Duration timeout) {
    byte[] payload = request.toByteArray();
    HttpResponse<byte[]> response;
    try {
      try {
        response =
            http.send(signed(path, payload, timeout), HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        if (!staleConnection(e)) {
          throw e;
        }
        // a kept-alive connection the server had closed, or a connect that failed: no byte of an
        // answer came, so the request was not served; send it once more on a new connection,
        // signed anew (a repeated signature would be refused as a replay)
        response =
            http.send(signed(path, payload, timeout), HttpResponse.BodyHandlers.ofByteArray());
      }
    } catch (IOException e) {
      // connection refused or reset, timeouts: the SuperLink may not be up (yet, or again)
      throw new FleetRpcException(
          FleetRpcException.Kind.UNAVAILABLE, path + " to " + baseUrl + ": " + describe(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FleetRpcException(FleetRpcException.Kind.FAILED, path + " interrupted", e);
    }
    int status = response.statusCode();
    if (status / 100 != 2) {
      String body = new String(response.body(), StandardCharsets.UTF_8);
      if (body.length() > MAX_ERROR_BODY) {
        body = body.substring(0, MAX_ERROR_BODY) + "...";
      }
      FleetRpcException.Kind kind =
          // 412 is flwr's answer to ActivateNode for a key it does not know
          status == 401 || status == 403 || status == 404 || status == 412
              ? FleetRpcException.Kind.REFUSED
              : status == 502 || status == 503 || status == 504 || status == 429
                  ? FleetRpcException.Kind.UNAVAILABLE
                  : FleetRpcException.Kind.FAILED;
      throw new FleetRpcException(
          kind, path + " to " + baseUrl + " answered HTTP " + status + ": " + body.strip(), null);
    }
    try {
      return parser.parseFrom(response.body());
    } catch (InvalidProtocolBufferException e) {
      throw new FleetRpcException(
          FleetRpcException.Kind.FAILED,
          path + " to " + baseUrl + " answered a body that is not the expected protobuf",
          e);
    }
  }

  private static String describe(Exception e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  @Override
  public RegisterNodeFleetResponse registerNode(RegisterNodeFleetRequest r) {
    return call("register-node", r, RegisterNodeFleetResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public ActivateNodeResponse activateNode(ActivateNodeRequest r) {
    return call("activate-node", r, ActivateNodeResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public DeactivateNodeResponse deactivateNode(DeactivateNodeRequest r) {
    return call("deactivate-node", r, DeactivateNodeResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public UnregisterNodeFleetResponse unregisterNode(UnregisterNodeFleetRequest r) {
    return call("unregister-node", r, UnregisterNodeFleetResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public SendNodeHeartbeatResponse sendNodeHeartbeat(SendNodeHeartbeatRequest r) {
    return call("send-node-heartbeat", r, SendNodeHeartbeatResponse.parser(), HEARTBEAT_TIMEOUT);
  }

  @Override
  public PullMessagesResponse pullMessages(PullMessagesRequest r) {
    return call("pull-messages", r, PullMessagesResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public PushMessagesResponse pushMessages(PushMessagesRequest r) {
    return call("push-messages", r, PushMessagesResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public GetRunResponse getRun(GetRunRequest r) {
    return call("get-run", r, GetRunResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public PushObjectResponse pushObject(PushObjectRequest r) {
    return call("push-object", r, PushObjectResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public PullObjectResponse pullObject(PullObjectRequest r) {
    return call("pull-object", r, PullObjectResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public ConfirmMessageReceivedResponse confirmMessageReceived(ConfirmMessageReceivedRequest r) {
    return call(
        "confirm-message-received", r, ConfirmMessageReceivedResponse.parser(), CALL_TIMEOUT);
  }

  @Override
  public void close() {
    // HttpClient in Java 17 has no close(); its threads end when it is unreachable
  }
}
