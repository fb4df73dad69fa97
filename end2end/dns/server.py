#!/usr/bin/env python3
"""A real DNS server (dnslib) for the tests: answers TXT queries on 127.0.0.1 from records
the tests set over a small HTTP control endpoint, so "Verify" in the portal does a real
DNS lookup over UDP.

Usage: server.py DNS_PORT HTTP_PORT   (0 picks free ports)
Prints "ready DNS_PORT HTTP_PORT" once both listen. POST /txt with JSON
{"name": "_connect-portal.example.com", "values": ["token"]} adds TXT records to a name
(tests running in parallel may publish several); an empty list removes them all. POST /a
does the same for A records ({"name": "idp.example.com", "values": ["127.0.0.1"]}), for
the tests of names that resolve to internal addresses. GET / answers 204 (ready). Exits
when standard input closes, so it never outlives the test run that started it, unless
--forever is given (the browser tests' server): then it runs until its parent process
goes away.
"""
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dnslib import A, QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSHandler, DNSServer

RECORDS = {}
LOCK = threading.Lock()


def canonical(name):
    return str(name).rstrip(".").lower()


class Resolver(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        qname = request.q.qname
        name = canonical(qname)
        with LOCK:
            txt = RECORDS.get(("txt", name))
            a = RECORDS.get(("a", name))
        if txt is None and a is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for v in txt or []:
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(v), ttl=1))
        if request.q.qtype in (QTYPE.A, QTYPE.ANY):
            for v in a or []:
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(v), ttl=1))
        return reply


class Handler(DNSHandler):
    """As a real name server without EDNS: a UDP answer over 512 bytes is truncated (TC),
    and the resolver asks again over TCP. (Parallel tests publish many tokens on one
    name, and dnslib would otherwise send oversized datagrams that resolvers drop.)"""

    udplen = 512


class Quiet:
    """dnslib logs every query to standard output, which nobody reads after "ready"."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class Control(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204 if self.path == "/" else 404)
        self.end_headers()

    def do_POST(self):
        kind = {"/txt": "txt", "/a": "a"}.get(self.path)
        if kind is None:
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        key = (kind, canonical(body["name"]))
        with LOCK:
            if body["values"]:
                RECORDS.setdefault(key, []).extend(body["values"])
            else:
                RECORDS.pop(key, None)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = [a for a in sys.argv[1:] if a != "--forever"]
    dns_port = int(args[0]) if len(args) > 0 else 0
    http_port = int(args[1]) if len(args) > 1 else 0
    dns_port = dns_port or free_port(socket.SOCK_DGRAM)
    resolver = Resolver()
    udp = DNSServer(resolver, port=dns_port, address="127.0.0.1", logger=Quiet(), handler=Handler)
    tcp = DNSServer(resolver, port=dns_port, address="127.0.0.1", tcp=True, logger=Quiet(), handler=Handler)
    udp.start_thread()
    tcp.start_thread()
    control = ThreadingHTTPServer(("127.0.0.1", http_port), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(f"ready {dns_port} {control.server_address[1]}", flush=True)
    if "--forever" in sys.argv:
        # Until the process that started it goes away (its parent changes), so a run that
        # died hard leaves no server holding the ports.
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(1)
    else:
        sys.stdin.read()  # until the parent goes away


if __name__ == "__main__":
    main()
