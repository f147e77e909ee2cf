"""integrations.http: one pool of connections per process, shared by every thread's session,
so a run's new threads reuse the keep-alive connections of the last one."""

import os
import threading

from integrations import http


def test_it_shares_one_pool_of_connections_between_threads():
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(http.session()))
    thread.start()
    thread.join()
    assert theirs[0] is not http.session()  # a session per thread
    assert theirs[0].get_adapter("https://x") is http.session().get_adapter("https://x")


def test_it_opens_connections_of_its_own_in_a_forked_process():
    parents = http.session().get_adapter("https://x")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing but the check, then out
        os.write(write, b"1" if http.session().get_adapter("https://x") is not parents else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
