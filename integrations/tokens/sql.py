"""The token service's hot statements, as SQL written once per process.

A refresh makes two round trips to the database: take the lease and read the credential with
its integration's status (one UPDATE ... RETURNING), then write the new tokens together with
their history row. A fresh-token check is one read. Built by the ORM on every call, each cost more time in Python
than the database spent on it (profiled: most of a fresh-token check, half of a refresh's
database share), so they are compiled here once and run through a cursor; values still go
through the fields' own conversions (encryption, datetimes, JSON), so nothing about what is
stored changes.

On PostgreSQL the write is one statement: a data-modifying CTE updates the credential and inserts
the history row, atomically, with no BEGIN/COMMIT round trips. SQLite has no such CTE: there the
two statements run in one transaction, in-process.
"""

import functools

from django.db import connection, transaction

from ..models import Integration, IntegrationEvent, OAuthCredential

CRED = OAuthCredential._meta
EVENT = IntegrationEvent._meta
FIELDS = CRED.concrete_fields
NAMES = [f.attname for f in FIELDS]


def _q(name):
    return connection.ops.quote_name(name)


@functools.cache
def _load_sql(vendor):
    columns = ", ".join(f"c.{_q(f.column)}" for f in FIELDS)
    return (f"SELECT {columns}, i.{_q('status')} FROM {_q(CRED.db_table)} c "
            f"JOIN {_q(Integration._meta.db_table)} i ON i.{_q('id')} = c.{_q('integration_id')} "
            f"WHERE c.{_q('integration_id')} = %s")


@functools.cache
def _converters(vendor):
    """Per column, the functions the ORM would apply to the value the driver returns."""
    return [
        (i, [*connection.ops.get_db_converters(f.get_col(CRED.db_table)),
             *f.get_db_converters(connection)], f.get_col(CRED.db_table))
        for i, f in enumerate(FIELDS)
    ]


def load(integration_id):
    """The credential, with `integration_status` set, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_load_sql(connection.vendor), [integration_id])
        row = cursor.fetchone()
    return None if row is None else _credential(row)


def _credential(row):
    """A credential from a row of its columns followed by its integration's status."""
    values = list(row[:-1])
    for i, converters, expression in _converters(connection.vendor):
        for convert in converters:
            values[i] = convert(values[i], expression, connection)
    cred = OAuthCredential.from_db(connection.alias, NAMES, values)
    cred.integration_status = row[-1]
    return cred


@functools.cache
def _load_leased_sql(vendor):
    columns = ", ".join(_q(f.column) for f in FIELDS)
    cred, integration = _q(CRED.db_table), _q(Integration._meta.db_table)
    return (f"UPDATE {cred} SET {_q('lease_previous')} = {_q('lease_owner')}, "
            f"{_q('lease_owner')} = %s, {_q('lease_until')} = %s "
            f"WHERE {_q('integration_id')} = %s "
            f"AND ({_q('lease_until')} IS NULL OR {_q('lease_until')} < %s) "
            f"RETURNING {columns}, (SELECT i.{_q('status')} FROM {integration} i "
            f"WHERE i.{_q('id')} = {cred}.{_q('integration_id')})")


def load_leased(integration_id, owner, now, until):
    """Take the lease and read the credential with its integration's status, in one
    statement; None if there is no credential or another holds the lease."""
    with connection.cursor() as cursor:
        cursor.execute(_load_leased_sql(connection.vendor),
                       [owner, _prep("lease_until", until), integration_id,
                        _prep("lease_until", now)])
        row = cursor.fetchone()
    return None if row is None else _credential(row)


def _prep(name, value):
    return CRED.get_field(name).get_db_prep_save(value, connection)


@functools.cache
def _lease_sql(vendor, unchanged):
    # lease_previous: a holder that never let go (its lease lapsed), "" if the lease was free.
    sql = (f"UPDATE {_q(CRED.db_table)} SET {_q('lease_previous')} = {_q('lease_owner')}, "
           f"{_q('lease_owner')} = %s, {_q('lease_until')} = %s "
           f"WHERE {_q('id')} = %s AND ({_q('lease_until')} IS NULL OR {_q('lease_until')} < %s)")
    return sql + (f" AND {_q('updated_at')} = %s" if unchanged else "")


def take_lease(cred_pk, owner, now, until, updated_at=None) -> bool:
    """The conditional UPDATE of tokens.lease.acquire (see there)."""
    params = [owner, _prep("lease_until", until), cred_pk, _prep("lease_until", now)]
    if updated_at is not None:
        params.append(_prep("updated_at", updated_at))
    with connection.cursor() as cursor:
        cursor.execute(_lease_sql(connection.vendor, updated_at is not None), params)
        return cursor.rowcount == 1


EVENT_COLUMNS = ["integration_id", "created_at", "kind", "outcome", "error_code", "message",
                 "duration_ms", "attempts", "rotated"]


@functools.cache
def _write_sql(vendor, names):
    assignments = ", ".join(f"{_q(CRED.get_field(n).column)} = %s" for n in names)
    # Both CASEs see the row as it was: we release the lease only if it is still ours.
    owner = _q("lease_owner")
    update = (f"UPDATE {_q(CRED.db_table)} SET {assignments}, "
              f"{_q('lease_until')} = CASE WHEN {owner} = %s THEN NULL "
              f"ELSE {_q('lease_until')} END, "
              f"{owner} = CASE WHEN {owner} = %s THEN '' ELSE {owner} END "
              f"WHERE {_q('id')} = %s RETURNING {owner}")
    columns = ", ".join(_q(EVENT.get_field(c).column) for c in EVENT_COLUMNS)
    marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
    if vendor == "postgresql":
        return (f"WITH u AS ({update}), e AS (INSERT INTO {_q(EVENT.db_table)} ({columns}) "
                f"SELECT {marks} FROM u) SELECT {owner} FROM u"), None
    return update, f"INSERT INTO {_q(EVENT.db_table)} ({columns}) VALUES ({marks})"


def write_refresh(cred_pk, owner, updates: dict, event: dict) -> bool:
    """Write `updates` to the credential, release our lease, insert the history row; all or
    nothing. True if we still held the lease (False: it lapsed, and was written all the same)."""
    names = tuple(updates)
    update_params = [_prep(n, v) for n, v in updates.items()] + [owner, owner, cred_pk]
    event_params = [EVENT.get_field(c).get_db_prep_save(event[c], connection)
                    for c in EVENT_COLUMNS]
    first, second = _write_sql(connection.vendor, names)
    with connection.cursor() as cursor:
        if second is None:
            cursor.execute(first, update_params + event_params)
            row = cursor.fetchone()
        else:
            with transaction.atomic():
                cursor.execute(first, update_params)
                row = cursor.fetchone()
                cursor.execute(second, event_params)
    return row is not None and row[0] == ""
