"""The reference model of conversation groups (docs/counting.md, Conversation groups): per user, named
sets of conversations, each call one change. Mixed into `support.model.Model`."""

from __future__ import annotations

from collections.abc import Sequence

from counters import Conflict, Limits, NotFound, ResourceExhausted
from support import model_checks as check
from support.model_state import User


class ConversationGroups:
    """The conversation-group calls of the Counters API, over the model's users."""

    limits: Limits

    def user(self, uid: str) -> User:
        raise NotImplementedError

    def create_conversation_group(self, uid: str, name: str, conversations: Sequence[str]) -> int:
        check.user_id(uid)
        check.name(name)
        cids = check.conversations(conversations, self.limits.conversations_per_group)
        user = self.user(uid)
        if name in user.groups:
            raise Conflict(f"{name!r} exists")
        if len(user.groups) >= self.limits.groups_per_user:
            raise ResourceExhausted("too many conversation groups")
        user.groups[name] = set(cids)
        return user.commit(cids, [name])

    def delete_conversation_group(self, uid: str, name: str) -> int:
        check.user_id(uid)
        check.name(name)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        cids = user.groups.pop(name)
        return user.commit(cids, [name])

    def rename_conversation_group(self, uid: str, name: str, new_name: str) -> int:
        check.user_id(uid)
        check.name(name)
        check.name(new_name)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        if new_name in user.groups:  # taken, or the same name
            raise Conflict(f"{new_name!r} exists")
        user.groups[new_name] = user.groups.pop(name)
        return user.commit(user.groups[new_name], [name, new_name])

    def edit_conversation_group(self, uid: str, name: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> int:
        """One atomic change: the group becomes (old − remove) ∪ add."""
        check.user_id(uid)
        check.name(name)
        adds = check.conversations(list(add), self.limits.conversations_per_group)
        removes = check.conversations(list(remove), self.limits.conversations_per_group)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        old = user.groups[name]
        new = (old - set(removes)) | set(adds)
        if len(new) > self.limits.conversations_per_group:
            raise ResourceExhausted("conversation group full")
        if new == old:
            return user.ver
        user.groups[name] = new
        return user.commit(sorted(old ^ new), [name])

    def conversation_groups(self, uid: str) -> list[str]:
        check.user_id(uid)
        return sorted(self.user(uid).groups)
