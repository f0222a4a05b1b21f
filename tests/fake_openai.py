"""A fake OpenAI-compatible chat server for tests (never shipped in the product).

The requested model name picks the behaviour: "gold" answers the reference in <answer> tags,
"wrong" a wrong answer in tags, "untagged" the reference without tags, "hostile:<k>" the k-th
hostile payload in tags, "mixed" one of gold / wrong / injection / untagged / 9**9**9 chosen by the
question (the same in every process and verifiers version). References are looked up by the user message text.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTILE = [
    "__import__('os').system('touch PWNED_eval')",
    "open(chr(80)+chr(87)+chr(78),chr(119))",
    "9**9**9",
    "9^9^9",
    "1e999999",
    "((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))" * 200,
    "[" * 5000 + "]" * 5000,
    "9" * 1_000_000,
    "x" * 1_000_000,
    "\u202e\u200b\u0000\ufeff𝕏🧨" * 1000,
    "lambda: __import__('subprocess').run(['touch', 'PWNED_lambda'])",
    "[x for x in ().__class__.__base__.__subclasses__()]",
    "-1",
    "",
    "None",
]


class FakeOpenAI:
    def __init__(self, references: dict[str, str], delay_s: float = 0.0):
        self.references = references
        self.delay_s = delay_s  # per request, for tests that interrupt a run mid-way
        self.requests = 0
        self.bodies: list[dict] = []  # every chat request body, for tests of what the clients send
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in ("gold", "wrong", "untagged")]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests += 1
                fake.bodies.append(body)
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                content = fake.reply(body["model"], body["messages"])
                self._send(200, {
                    "id": f"chatcmpl-{fake.requests}", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                })

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, model: str, messages: list[dict]) -> str:
        question = [m["content"] for m in messages if m["role"] == "user"][-1]
        gold = self.references.get(question, "")
        if model == "gold":
            return f"Let me work it out.\n<answer>{gold}</answer>"
        if model == "wrong":
            return f"<answer>{gold}</answer> wait, no.\n<answer>definitely wrong {len(gold)}</answer>"
        if model == "untagged":
            return f"The answer is {gold}"
        if model.startswith("hostile:"):
            return f"<answer>{HOSTILE[int(model.split(':')[1])]}</answer>"
        if model == "mixed":  # per question, the same behaviour in every process: gold, wrong, injection, untagged
            kind = ["gold", "wrong", "hostile:0", "untagged", "hostile:2"][zlib.crc32(question.encode()) % 5]
            return self.reply(kind, messages)
        if model == "hostile":  # cycle through every payload
            return f"<answer>{HOSTILE[self.requests % len(HOSTILE)]}</answer>"
        return "I do not know."

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
