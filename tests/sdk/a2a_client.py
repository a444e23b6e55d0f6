"""The official A2A Python SDK (a2a-sdk) as a client of `cadre up`.

Run by tests/http/sdk.rs: `python a2a_client.py BASE_URL PHASE [TOKEN]`.
Each phase prints one JSON object of what the SDK saw; the Rust test asserts
on it together with what the loopback provider received.
"""

import asyncio
import json
import sys

import httpx
from a2a.client import A2ACardResolver, ClientCallContext, ClientConfig, create_client
from a2a.helpers.proto_helpers import new_text_message
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
)
from a2a.utils import errors
from google.protobuf.json_format import MessageToDict

BASE, PHASE = sys.argv[1], sys.argv[2]
TOKEN = sys.argv[3] if len(sys.argv) > 3 else None


def user(text, context_id=None):
    return new_text_message(text, context_id=context_id, role=Role.ROLE_USER)


def answer(task):
    return "".join(p.text for a in task.artifacts for p in a.parts)


def http():
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    return httpx.AsyncClient(timeout=60, headers=headers)


async def card_of(h, name):
    return await A2ACardResolver(h, f"{BASE}/a2a/{name}").get_agent_card()


async def send(client, msg, **config):
    req = SendMessageRequest(message=msg)
    for k, v in config.items():
        setattr(req.configuration, k, v)
    events = [e async for e in client.send_message(req)]
    return events


async def main_phase(h):
    out = {}
    card = await card_of(h, "numa")
    out["card"] = MessageToDict(card)
    root = AgentCard()
    root.CopyFrom(await A2ACardResolver(h, BASE).get_agent_card())
    out["root_card"] = MessageToDict(root)

    plain = await create_client(card, ClientConfig(streaming=False, httpx_client=h))
    [ev] = await send(plain, user("hello numa"))
    first = ev.task
    out["send"] = {"state": first.status.state, "answer": answer(first),
                   "task_id": first.id, "context_id": first.context_id}
    [ev] = await send(plain, user("and a second question", context_id=first.context_id))
    out["second"] = {"answer": answer(ev.task), "context_id": ev.task.context_id}
    got = await plain.get_task(GetTaskRequest(id=first.id))
    out["get"] = {"state": got.status.state, "answer": answer(got), "history": len(got.history)}
    listed = await plain.list_tasks(ListTasksRequest(context_id=first.context_id))
    out["list"] = {"ids": [t.id for t in listed.tasks], "total": listed.total_size}

    streaming = await create_client(card, ClientConfig(streaming=True, httpx_client=h))
    kinds, chunks, states, final = [], [], [], None
    async for ev in streaming.send_message(SendMessageRequest(message=user("stream three words"))):
        kind = ev.WhichOneof("payload")
        kinds.append(kind)
        if kind == "artifact_update":
            chunks.append("".join(p.text for p in ev.artifact_update.artifact.parts))
        elif kind == "status_update":
            states.append(ev.status_update.status.state)
            final = ev.status_update.task_id
        elif kind == "task":
            final = ev.task.id
    done = await plain.get_task(GetTaskRequest(id=final))
    out["stream"] = {"kinds": kinds, "chunks": chunks, "states": states,
                     "final_answer": answer(done), "final_state": done.status.state}
    try:
        await plain.get_task(GetTaskRequest(id="no-such-task"))
        out["unknown_task"] = "no error"
    except errors.TaskNotFoundError as e:
        out["unknown_task"] = type(e).__name__
    try:
        ctx = ClientCallContext(service_parameters={"A2A-Version": "0.5"})
        await plain.get_task(GetTaskRequest(id=first.id), context=ctx)
        out["bad_version"] = "no error"
    except errors.VersionNotSupportedError as e:
        out["bad_version"] = type(e).__name__
    # A v0.3 client: the same agent through its 0.3 interface.
    legacy = AgentCard()
    legacy.CopyFrom(card)
    del legacy.supported_interfaces[:]
    legacy.supported_interfaces.add(url=f"{BASE}/a2a/numa", protocol_binding="JSONRPC",
                                    protocol_version="0.3")
    old = await create_client(legacy, ClientConfig(streaming=False, httpx_client=h))
    [ev] = await send(old, user("hello from 0.3"))
    out["v03"] = {"state": ev.task.status.state, "answer": answer(ev.task)}
    return out


async def cancel_phase(h):
    card = await card_of(h, "numa")
    plain = await create_client(card, ClientConfig(streaming=False, httpx_client=h))
    [ev] = await send(plain, user("a slow question"), return_immediately=True)
    running = ev.task
    streaming = await create_client(card, ClientConfig(streaming=True, httpx_client=h))
    seen = []

    async def watch():
        async for e in streaming.subscribe(SubscribeToTaskRequest(id=running.id)):
            kind = e.WhichOneof("payload")
            state = e.status_update.status.state if kind == "status_update" else None
            seen.append([kind, state])

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.5)
    canceled = await plain.cancel_task(CancelTaskRequest(id=running.id))
    await asyncio.wait_for(watcher, 20)
    after = await plain.get_task(GetTaskRequest(id=running.id))
    try:
        await plain.cancel_task(CancelTaskRequest(id=running.id))
        again = "no error"
    except errors.TaskNotCancelableError as e:
        again = type(e).__name__
    return {"immediate_state": running.status.state, "canceled_state": canceled.status.state,
            "after_state": after.status.state, "cancel_again": again, "subscribed": seen}


async def failure_phase(h):
    card = await card_of(h, "numa")
    plain = await create_client(card, ClientConfig(streaming=False, httpx_client=h))
    [ev] = await send(plain, user("this will fail"))
    t = ev.task
    return {"state": t.status.state, "message": MessageToDict(t.status.message),
            "answer": answer(t)}


async def team_phase(h):
    """A council round through A2A: the team's card, the root card listing
    it, one message answered whole and one streamed."""
    out = {}
    card = await card_of(h, "team/council")
    out["card"] = MessageToDict(card)
    root = AgentCard()
    root.CopyFrom(await A2ACardResolver(h, BASE).get_agent_card())
    out["root_card"] = MessageToDict(root)
    plain = await create_client(card, ClientConfig(streaming=False, httpx_client=h))
    [ev] = await send(plain, user("What should we ship first?"))
    out["send"] = {"state": ev.task.status.state, "answer": answer(ev.task)}
    streaming = await create_client(card, ClientConfig(streaming=True, httpx_client=h))
    chunks, progress, states, final = [], [], [], None
    async for ev in streaming.send_message(SendMessageRequest(message=user("Stream it?"))):
        kind = ev.WhichOneof("payload")
        if kind == "artifact_update":
            chunks.append("".join(p.text for p in ev.artifact_update.artifact.parts))
        elif kind == "status_update":
            st = ev.status_update.status
            states.append(st.state)
            progress.extend(p.text for p in st.message.parts)
            final = ev.status_update.task_id
        elif kind == "task":
            final = ev.task.id
    done = await plain.get_task(GetTaskRequest(id=final))
    out["stream"] = {"chunks": chunks, "progress": progress, "states": states,
                     "final_answer": answer(done)}
    try:
        await card_of(h, "team/nobody")
        out["unknown_team"] = "no error"
    except Exception as e:  # the resolver's HTTP error for a 404 card
        out["unknown_team"] = type(e).__name__
    return out


async def main():
    async with http() as h:
        phase = {"main": main_phase, "cancel": cancel_phase, "failure": failure_phase,
                 "team": team_phase}[PHASE]
        print(json.dumps(await phase(h)))


asyncio.run(main())
