"""Apply principals to a broker: SCRAM users and ACLs through Kafka's admin API (kafka-python),
as the ``admin`` super user."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from gaitstream.access.principals import (
    STATION_USER_PREFIX,
    Grant,
    station_grants,
    station_user,
)
from gaitstream.logging import kv
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

SCRAM_MECHANISM = "SCRAM-SHA-512"
# Kafka's minimum for SCRAM-SHA-512 is 4096; more makes a brute force of a stolen hash slower.
SCRAM_ITERATIONS = 8192


class AccessError(RuntimeError):
    """The broker refused a change of users or ACLs (the message says which and why)."""


def new_password() -> str:
    """A random password (256 bits, URL-safe: it may travel in environment files)."""
    return secrets.token_urlsafe(32)


def _acl(grant: Grant):
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    return ACL(
        principal=f"User:{grant.user}",
        host="*",
        operation=ACLOperation[grant.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource], grant.name, ACLResourcePatternType[grant.pattern]
        ),
    )


@dataclass
class AccessAdmin:
    """Users and ACLs of one broker, managed as ``admin``."""

    kafka: KafkaSettings

    def __post_init__(self) -> None:
        from kafka import KafkaAdminClient

        self._admin = KafkaAdminClient(**self.kafka.client_config(), client_id="gaitstream-access")

    def close(self) -> None:
        self._admin.close()

    def __enter__(self) -> AccessAdmin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_password(self, user: str, password: str) -> None:
        from kafka.admin import UserScramCredentialUpsertion

        result = self._admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(user, SCRAM_MECHANISM, password, iterations=SCRAM_ITERATIONS)]
        )
        if result.get(user):
            raise AccessError(f"setting the password of {user} failed: {result[user]}")

    def delete_user(self, user: str) -> bool:
        """Remove ``user``'s SCRAM credential; False when it had none."""
        from kafka.admin import UserScramCredentialDeletion

        result = self._admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, SCRAM_MECHANISM)])
        error = result.get(user)
        if error and "not found" not in error.lower() and "does not exist" not in error.lower():
            raise AccessError(f"deleting the credential of {user} failed: {error}")
        return not error

    def users(self) -> list[str]:
        return sorted(self._admin.describe_user_scram_credentials())

    def grant(self, grants: Iterable[Grant]) -> int:
        acls = [_acl(g) for g in sorted(set(grants))]
        if not acls:
            return 0
        result = self._admin.create_acls(acls)
        failed = result.get("failed", [])
        if failed:
            raise AccessError(f"{len(failed)} ACLs refused, first: {failed[0]}")
        return len(acls)

    def revoke_all(self, user: str) -> int:
        """Delete every ACL naming ``user``; returns how many."""
        from kafka.admin import (
            ACLFilter,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePatternFilter,
            ResourceType,
        )

        acl_filter = ACLFilter(
            principal=f"User:{user}",
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
        )
        results = self._admin.delete_acls([acl_filter])
        deleted = 0
        for _filter, matches, error in results:
            if error is not None and getattr(error, "errno", 0):
                raise AccessError(f"deleting the ACLs of {user} failed: {error}")
            deleted += len(matches)
        return deleted

    def revoke_prefix(self, prefix: str) -> int:
        """Delete every ACL on a topic, group or transactional id named with ``prefix`` (a test or
        benchmark run's topics are deleted with it); returns how many."""
        from kafka.admin import (
            ACLFilter,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePatternFilter,
            ResourceType,
        )

        if not prefix:
            raise ValueError("prefix must not be empty: it would delete every ACL")
        doomed = []
        for kind in (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID):
            acls, _error = self._admin.describe_acls(
                ACLFilter(
                    principal=None,
                    host=None,
                    operation=ACLOperation.ANY,
                    permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(kind, None, ACLResourcePatternType.ANY),
                )
            )
            doomed += [a for a in acls if a.resource_pattern.resource_name.startswith(prefix)]
        if doomed:
            self._admin.delete_acls(doomed)
        return len(doomed)

    def grants_of(self, user: str) -> list[str]:
        """``operation resource:name (pattern)`` for every ACL of ``user``."""
        from kafka.admin import (
            ACLFilter,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePatternFilter,
            ResourceType,
        )

        acl_filter = ACLFilter(
            principal=f"User:{user}",
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
        )
        acls, error = self._admin.describe_acls(acl_filter)
        if error is not None and getattr(error, "errno", 0):
            raise AccessError(f"describing the ACLs of {user} failed: {error}")
        return sorted(
            f"{a.operation.name} {a.resource_pattern.resource_type.name}:{a.resource_pattern.resource_name} "
            f"({a.resource_pattern.pattern_type.name.lower()})"
            for a in acls
        )

    def ensure_role(self, user: str, password: str, grants: Iterable[Grant]) -> None:
        """The user exists with this password and (at least) these ACLs."""
        self.set_password(user, password)
        count = self.grant(grants)
        log.info(kv("kafka_role_ensured", user=user, acls=count))

    def add_station(self, station_id: str, topics: TopicSettings) -> str:
        """Create (or re-key) a station's user and its one ACL; returns the new password."""
        user = station_user(station_id)
        password = new_password()
        self.set_password(user, password)
        self.grant(station_grants(topics, user))
        log.info(kv("station_access_added", station=station_id, user=user))
        return password

    def revoke_station(self, station_id: str) -> tuple[bool, int]:
        """Remove a station's credential and ACLs: ``(had_credential, acls_deleted)``."""
        user = station_user(station_id)
        acls = self.revoke_all(user)
        had = self.delete_user(user)
        log.info(kv("station_access_revoked", station=station_id, user=user, acls=acls))
        return had, acls

    def stations(self) -> list[str]:
        return [u[len(STATION_USER_PREFIX) :] for u in self.users() if u.startswith(STATION_USER_PREFIX)]
