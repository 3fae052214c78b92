#!/usr/bin/env python3
"""Recording reverse proxy for the Fleet HTTP API (loopback only).

    python trace_proxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:SUPERLINK_PORT
                          --out trace.jsonl

Point a SuperNode at --listen (``flower-supernode --superlink 127.0.0.1:PORT``). Every
HTTP exchange is forwarded unchanged and appended to the JSONL file: method, path,
request/response headers, status, and the protobuf bodies decoded with flwr's own
message classes (bytes fields are summarised; object_content blobs are reduced to
their "<Class> <children> <len>" header). Runs until killed.
"""

import argparse
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flwr.proto import fab_pb2, fleet_pb2, heartbeat_pb2, message_pb2, recorddict_pb2, run_pb2
from google.protobuf.json_format import MessageToDict

# Object bodies that are protobuf (the others - RecordDict, ArrayRecord, Array - are JSON,
# ArrayChunk is raw bytes).
OBJECT_PROTOS = {
    "Message": message_pb2.Message,
    "ConfigRecord": recorddict_pb2.ConfigRecord,
    "MetricRecord": recorddict_pb2.MetricRecord,
}

FLEET_TYPES = {
    "/v1/fleet/register-node": (
        fleet_pb2.RegisterNodeFleetRequest,
        fleet_pb2.RegisterNodeFleetResponse,
    ),
    "/v1/fleet/activate-node": (fleet_pb2.ActivateNodeRequest, fleet_pb2.ActivateNodeResponse),
    "/v1/fleet/deactivate-node": (
        fleet_pb2.DeactivateNodeRequest,
        fleet_pb2.DeactivateNodeResponse,
    ),
    "/v1/fleet/unregister-node": (
        fleet_pb2.UnregisterNodeFleetRequest,
        fleet_pb2.UnregisterNodeFleetResponse,
    ),
    "/v1/fleet/send-node-heartbeat": (
        heartbeat_pb2.SendNodeHeartbeatRequest,
        heartbeat_pb2.SendNodeHeartbeatResponse,
    ),
    "/v1/fleet/pull-messages": (fleet_pb2.PullMessagesRequest, fleet_pb2.PullMessagesResponse),
    "/v1/fleet/push-messages": (fleet_pb2.PushMessagesRequest, fleet_pb2.PushMessagesResponse),
    "/v1/fleet/get-run": (run_pb2.GetRunRequest, run_pb2.GetRunResponse),
    "/v1/fleet/get-fab": (fab_pb2.GetFabRequest, fab_pb2.GetFabResponse),
    "/v1/fleet/push-object": (message_pb2.PushObjectRequest, message_pb2.PushObjectResponse),
    "/v1/fleet/pull-object": (message_pb2.PullObjectRequest, message_pb2.PullObjectResponse),
    "/v1/fleet/confirm-message-received": (
        message_pb2.ConfirmMessageReceivedRequest,
        message_pb2.ConfirmMessageReceivedResponse,
    ),
}

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
}


def _summarise_blob(raw: bytes) -> str:
    """Describe an object_content / fab / key blob without dumping it."""
    nul = raw.find(b"\x00")
    if 0 < nul < 4096:
        try:
            header = raw[:nul].decode("utf-8")
        except UnicodeDecodeError:
            header = None
        if header is not None:
            summary = f"<object header={header!r} total={len(raw)} bytes>"
            body = raw[nul + 1 :]
            cls = header.split(" ", 1)[0]
            try:
                if cls in OBJECT_PROTOS:
                    proto = OBJECT_PROTOS[cls]()
                    proto.ParseFromString(body)
                    summary += " body=" + json.dumps(MessageToDict(proto))
                elif cls != "ArrayChunk":
                    summary += " body=" + body.decode("utf-8")
            except Exception:  # pylint: disable=broad-except
                pass
            return summary
    try:
        text = raw.decode("ascii")
        if text.isprintable() and len(text) < 400:
            return text
    except UnicodeDecodeError:
        pass
    return f"<{len(raw)} bytes, head={raw[:16].hex()}>"


def _decode(msg_type, body: bytes):
    if msg_type is None or not body:
        return None
    msg = msg_type()
    try:
        msg.ParseFromString(body)
    except Exception as exc:  # pylint: disable=broad-except
        return {"_decode_error": repr(exc), "_len": len(body)}

    def walk(m):
        out = {}
        for field, value in m.ListFields():
            if field.type == field.TYPE_BYTES:
                vals = value if field.label == field.LABEL_REPEATED else [value]
                summ = [_summarise_blob(v) for v in vals]
                out[field.name] = summ if field.label == field.LABEL_REPEATED else summ[0]
            elif field.type == field.TYPE_MESSAGE:
                if field.message_type.GetOptions().map_entry:
                    out[field.name] = {
                        k: (
                            walk(v)
                            if hasattr(v, "ListFields")
                            else (_summarise_blob(v) if isinstance(v, bytes) else v)
                        )
                        for k, v in value.items()
                    }
                elif field.label == field.LABEL_REPEATED:
                    out[field.name] = [walk(v) for v in value]
                else:
                    out[field.name] = walk(value)
            elif field.label == field.LABEL_REPEATED:
                out[field.name] = list(value)
            else:
                out[field.name] = (
                    value
                    if not isinstance(value, int) or field.type != field.TYPE_ENUM
                    else field.enum_type.values_by_number[value].name
                )
        return out

    return {"_type": msg_type.DESCRIPTOR.full_name, **walk(msg)}


def make_handler(upstream_host: str, upstream_port: int, out_path: str, lock: threading.Lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # silence stderr access log
            pass

        def _proxy(self):
            t0 = time.time()
            length = int(self.headers.get("content-length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            fwd_headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=fwd_headers)
                resp = conn.getresponse()
                rbody = resp.read()
                status, reason, rheaders = resp.status, resp.reason, resp.getheaders()
            finally:
                conn.close()
            self.send_response(status, reason)
            for k, v in rheaders:
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("content-length", str(len(rbody)))
            self.end_headers()
            self.wfile.write(rbody)

            path = self.path.split("?")[0]
            req_t, resp_t = FLEET_TYPES.get(path, (None, None))
            rec = {
                "t": round(t0, 3),
                "ms": round((time.time() - t0) * 1000, 1),
                "method": self.command,
                "path": path,
                "request_headers": dict(self.headers.items()),
                "request_len": len(body),
                "request": _decode(req_t, body),
                "status": status,
                "response_headers": dict(rheaders),
                "response_len": len(rbody),
                "response": _decode(resp_t, rbody)
                if status < 400
                else rbody[:500].decode("utf-8", "replace"),
            }
            with lock, open(out_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, default=str) + "\n")

        do_POST = _proxy
        do_GET = _proxy

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--listen", required=True, help="host:port to listen on")
    ap.add_argument("--upstream", required=True, help="SuperLink host:port (plain HTTP)")
    ap.add_argument("--out", required=True, help="JSONL file to append to")
    args = ap.parse_args()
    lhost, lport = args.listen.rsplit(":", 1)
    uhost, uport = args.upstream.rsplit(":", 1)
    server = ThreadingHTTPServer(
        (lhost, int(lport)), make_handler(uhost, int(uport), args.out, threading.Lock())
    )
    server.daemon_threads = True
    print(json.dumps({"listening": f"{lhost}:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
