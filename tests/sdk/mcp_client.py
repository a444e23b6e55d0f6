"""The official MCP Python SDK (mcp) as a client of `cadre up`.

Run by tests/http/sdk.rs:
  python mcp_client.py http URL                  (streamable HTTP, URL ends in /mcp)
  python mcp_client.py stdio CADRE ARGS...       (launches `CADRE ARGS... mcp`)
Prints one JSON object of what the SDK saw.
"""

import asyncio
import json
import sys

from mcp import Client, StdioServerParameters


def target():
    if sys.argv[1] == "http":
        return sys.argv[2]
    return StdioServerParameters(command=sys.argv[2], args=sys.argv[3:] + ["mcp"])


def text(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main():
    out = {}
    async with Client(target(), read_timeout_seconds=60) as c:
        out["protocol_version"] = c.protocol_version
        tools = await c.list_tools()
        out["tools"] = {t.name: {"input": t.input_schema, "output": t.output_schema}
                        for t in tools.tools}
        progress = []

        async def on_progress(done, total, message):
            progress.append(message)

        ask = await c.call_tool("ask", {"specialist": "numa", "question": "hello over mcp",
                                        "history": [{"role": "user", "content": "earlier"},
                                                    {"role": "assistant", "content": "reply"}]},
                                progress_callback=on_progress)
        out["ask"] = {"is_error": ask.is_error, "text": text(ask),
                      "structured": ask.structured_content, "progress": progress}
        plain = await c.call_tool("ask", {"specialist": "numa", "question": "no progress"})
        out["ask_plain"] = {"is_error": plain.is_error, "text": text(plain)}
        bad = await c.call_tool("ask", {"specialist": "nobody", "question": "hi"})
        out["unknown"] = {"is_error": bad.is_error, "text": text(bad)}
        wrong = await c.call_tool("ask", {"specialist": 7})
        out["wrong_args"] = {"is_error": wrong.is_error, "text": text(wrong)}
        roster = await c.call_tool("list_specialists", {})
        out["list"] = {"is_error": roster.is_error, "structured": roster.structured_content}
        res = await c.list_resources()
        out["resources"] = [str(r.uri) for r in res.resources]
        prompt = await c.read_resource("cadre://specialists/numa/prompt")
        out["prompt"] = prompt.contents[0].text
        roster_res = await c.read_resource("cadre://roster")
        out["roster"] = json.loads(roster_res.contents[0].text)
        team_progress = []

        async def on_team_progress(done, total, message):
            team_progress.append(message)

        team = await c.call_tool("ask_team", {"team": "council", "question": "What first?"},
                                 progress_callback=on_team_progress)
        out["ask_team"] = {"is_error": team.is_error, "text": text(team),
                           "structured": team.structured_content, "progress": team_progress}
        no_team = await c.call_tool("ask_team", {"team": "nobody", "question": "hi"})
        out["unknown_team"] = {"is_error": no_team.is_error, "text": text(no_team)}
    print(json.dumps(out))


asyncio.run(main())
