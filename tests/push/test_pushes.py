"""What apps see pushed: the behaviours Tencent Cloud IM documents for unread counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from support.ws import Raw, send_c2c

from gateway.client import Client, filter_key

NewId = Callable[[str], str]


class TestTotalPushes:
    async def test_no_total_push_before_get_total(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """Until get_total, a change pushes conversations but never a total."""
        alice, bob = new_id("alice"), new_id("bob")
        conn = await raw(alice)
        await send_c2c(service, bob, alice, "m1", 100)
        frame = await conn.until(lambda f: f.get("type") == "conversations")
        assert frame["conversations"][0]["unread"] == 1
        await conn.request("ping", rid="after-first")  # everything pushed before is read by now
        assert conn.pushes("total") == []
        assert (await conn.request("get_total", rid=2))["total"] == 1
        await send_c2c(service, bob, alice, "m2", 101)
        assert (await conn.until(lambda f: f.get("type") == "total"))["total"] == 2

    async def test_total_pushed_only_when_it_changes(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A change that leaves the total as it was (a mark) pushes no total."""
        alice, bob = new_id("alice"), new_id("bob")
        conn = await raw(alice)
        await conn.request("get_total")
        await send_c2c(service, bob, alice, "m1", 100)
        await conn.until(lambda f: f.get("type") == "total")
        await conn.request("mark", rid=3, conversations=[f"c2c_{bob}"], mark=1, enable=True)
        await conn.until(lambda f: f.get("type") == "conversations" and f["conversations"][0]["marks"] == 1)
        await conn.request("ping", rid=4)
        assert [f["total"] for f in conn.pushes("total")] == [1]


class TestFilters:
    async def test_several_filter_subscriptions_have_distinct_totals(
        self, client: Callable[[str], Awaitable[Client]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """C2C, group and starred filters each follow their own total."""
        alice, bob, gid = new_id("alice"), new_id("bob"), new_id("g")
        await service.put(f"/v1/groups/{gid}", json={"type": "Work"})
        await service.post(f"/v1/groups/{gid}/members", json={"add": [alice, bob]})
        c = await client(alice)
        c2c, groups, starred = {"type": 1}, {"type": 2}, {"mark": 1}
        for flt in (c2c, groups, starred):
            assert await c.subscribe_filter(flt) == 0
        await send_c2c(service, bob, alice, "m1", 100)
        body = {"messages": [{"id": f"g{i}", "from": bob, "group": gid, "seq": i} for i in (1, 2)]}
        await service.post("/v1/messages", json=body)
        await service.post(
            f"/v1/users/{alice}/marks", json={"conversations": [f"group_{gid}"], "mark": 1, "enable": True}
        )
        await c.wait_until(lambda s: _totals(s) == (1, 2, 2))

    async def test_filter_by_conversation_group(
        self, client: Callable[[str], Awaitable[Client]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A conversation-group filter counts only the group's conversations."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await service.post(
            f"/v1/users/{alice}/conversation-groups", json={"name": "work", "conversations": [f"c2c_{bob}"]}
        )
        c = await client(alice)
        await c.subscribe_filter({"group": "work"})
        await send_c2c(service, bob, alice, "m1", 100)
        await send_c2c(service, carol, alice, "m2", 100)
        await c.wait_until(lambda s: list(s.filters.values()) == [1] and len(s.conversations) == 2)


def _totals(c: Client) -> tuple[int, ...]:
    return tuple(c.filters.get(filter_key(f), -1) for f in ({"type": 1}, {"type": 2}, {"mark": 1}))


class TestDevices:
    async def test_clean_on_one_device_updates_the_other(
        self, client: Callable[[str], Awaitable[Client]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """Two connections of one user: a clean on the first clears the badge on the second."""
        alice, bob = new_id("alice"), new_id("bob")
        phone, laptop = await client(alice), await client(alice)
        await laptop.get_total()
        await send_c2c(service, bob, alice, "m1", 100)
        await laptop.wait_until(lambda s: s.total == 1)
        assert (await phone.request("clean", conversation=f"c2c_{bob}"))["cleaned"] == 1
        await laptop.wait_until(lambda s: s.total == 0 and s.conversations[f"c2c_{bob}"]["unread"] == 0)

    async def test_do_not_disturb_moves_the_total_not_the_count(
        self, client: Callable[[str], Awaitable[Client]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """recv_opt 2 takes the conversation out of the total; its own unread stays."""
        alice, bob = new_id("alice"), new_id("bob")
        c = await client(alice)
        await c.get_total()
        await send_c2c(service, bob, alice, "m1", 100)
        await send_c2c(service, bob, alice, "m2", 101)
        await c.wait_until(lambda s: s.total == 2)
        await c.request("set_recv_opt", conversations=[f"c2c_{bob}"], recv_opt=2)
        await c.wait_until(lambda s: s.total == 0)
        conv = c.conversations[f"c2c_{bob}"]
        assert (conv["unread"], conv["recv_opt"]) == (2, 2)

    async def test_other_users_see_nothing(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A change of one user sends no frame to another user's connection."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        watcher = await raw(carol)
        await watcher.request("get_total")
        await send_c2c(service, bob, alice, "m1", 100)
        await send_c2c(service, bob, carol, "m2", 100)
        frame = await watcher.until(lambda f: f.get("type") == "conversations")
        assert [f"c2c_{bob}"] == [c["id"] for c in frame["conversations"]]
        assert (await watcher.until(lambda f: f.get("type") == "total"))["total"] == 1


async def _crowded(service: httpx.AsyncClient, user: str) -> list[str]:
    """300 unread conversations, each in 20 long-named conversation groups (~200 KB of JSON); their ids."""
    messages = [{"id": f"m{i}", "from": f"s{i}-{user}", "to": user, "timestamp": 9} for i in range(300)]
    assert (await service.post("/v1/messages", json={"messages": messages})).status_code == 200
    convs = [f"c2c_s{i}-{user}" for i in range(300)]
    for g in range(20):
        body = {"name": f"{g:02d}" + "x" * 30, "conversations": convs}
        assert (await service.post(f"/v1/users/{user}/conversation-groups", json=body)).status_code == 200
    return convs


class TestFrameSize:
    async def test_a_push_too_big_for_one_frame_is_split_under_64_kib(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A clean of 300 conversations in 20 long-named groups (~200 KB of JSON) reaches a 64 KiB client whole."""
        alice = new_id("alice")
        convs = await _crowded(service, alice)
        conn = await raw(alice, max_size=64 * 1024)  # websockets closes with 1009 on a bigger frame
        await conn.request("get_total")
        reply = await conn.request("clean", rid=2, conversation="")
        await conn.until(lambda f: f.get("type") == "total" and f["total"] == 0)
        await conn.request("ping", rid=3)  # every push of the clean is read by now
        cleaned = {c["id"] for f in conn.pushes("conversations") for c in f["conversations"] if c["unread"] == 0}
        assert (300, set(convs)) == (reply["cleaned"], cleaned)

    async def test_a_listing_too_big_for_one_frame_pages_by_cursor(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """get_conversations of 300 conversations in 20 long-named groups: pages under 64 KiB, each with the
        next_cursor of the one after; together exactly the HTTP listing, in ID order, and nothing pushed."""
        alice = new_id("alice")
        convs = await _crowded(service, alice)
        listed = (await service.get(f"/v1/users/{alice}/conversations", params={"unread_only": "false"})).json()
        conn = await raw(alice, max_size=64 * 1024)  # websockets closes with 1009 on a bigger frame
        pages, cursor = [], None
        while True:
            args = {"unread_only": False, **({"cursor": cursor} if cursor else {})}
            page = await conn.request("get_conversations", rid="a-long-request-id-" + "x" * 200, **args)
            pages.append(page)
            if (cursor := page["next_cursor"]) is None:
                break
        ids = [c["id"] for page in pages for c in page["conversations"]]
        assert len(pages) > 1 and listed["next_cursor"] is None
        assert ([c["id"] for c in listed["conversations"]], sorted(convs)) == (ids, ids)
        assert [] == conn.pushes("conversations")

    async def test_limit_and_cursor_walk_the_listing_in_id_order(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """limit 2 over five conversations: pages of 2, 2 and 1 in ID order, the last with next_cursor null;
        over HTTP the same pages come back."""
        alice, senders = new_id("alice"), sorted(new_id("s") for _ in range(5))
        for i, sender in enumerate(senders):
            await send_c2c(service, sender, alice, f"m{i}", 100)
        conn = await raw(alice)
        ws_pages, http_pages, cursor, query = [], [], None, {"limit": "2"}
        while True:
            reply = await conn.request("get_conversations", limit=2, **({"cursor": cursor} if cursor else {}))
            ws_pages.append([c["id"] for c in reply["conversations"]])
            listed = (await service.get(f"/v1/users/{alice}/conversations", params=query)).json()
            http_pages.append([c["id"] for c in listed["conversations"]])
            if (cursor := reply["next_cursor"]) is None:
                break
            query = {"limit": "2", "cursor": cursor}
        expected = [[f"c2c_{s}" for s in senders[i : i + 2]] for i in (0, 2, 4)]
        assert (expected, expected) == (ws_pages, http_pages)

    async def test_bad_limits_are_refused(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """limit 0 or 1001, or an empty cursor: invalid_argument (400 over HTTP)."""
        alice = new_id("alice")
        conn = await raw(alice)
        codes = [
            (await conn.request("get_conversations", **args))["error"]["code"]
            for args in ({"limit": 0}, {"limit": 1001}, {"cursor": ""})
        ]
        statuses = [
            (await service.get(f"/v1/users/{alice}/conversations", params=query)).status_code
            for query in ({"limit": "0"}, {"limit": "1001"}, {"cursor": ""})
        ]
        assert (["invalid_argument"] * 3, [400] * 3) == (codes, statuses)

    async def test_a_short_listing_is_one_page(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A listing that fits is one reply with next_cursor null, and pushes nothing."""
        alice, bob = new_id("alice"), new_id("bob")
        await send_c2c(service, bob, alice, "m1", 100)
        conn = await raw(alice)
        reply = await conn.request("get_conversations", unread_only=False)
        await conn.request("ping", rid=3)
        assert (None, [f"c2c_{bob}"], []) == (
            reply["next_cursor"],
            [c["id"] for c in reply["conversations"]],
            conn.pushes("conversations"),
        )
