#!/usr/bin/python3
"""A TCP proxy on loopback whose connections a test can cut: every client connection is relayed
to 127.0.0.1:TARGET; SIGUSR1 closes all of them at once (both ends, with a reset), as a network
outage would, while the proxy keeps listening for the client's reconnect. Writes its port to
PORT_FILE and the number of connections cut so far to PORT_FILE.cuts.
Usage: cut_proxy.py TARGET_PORT PORT_FILE"""
import asyncio, signal, socket, struct, sys

target, port_file = int(sys.argv[1]), sys.argv[2]
conns = set()
cuts = 0


def abort(w):
    s = w.get_extra_info("socket")
    if s is not None:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    w.transport.abort()


async def pump(r, w):
    try:
        while True:
            b = await r.read(1 << 16)
            if not b:
                break
            w.write(b)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        abort(w)


async def serve(cr, cw):
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        abort(cw)
        return
    pair = (cw, sw)
    conns.add(pair)
    await asyncio.gather(pump(cr, sw), pump(sr, cw))
    conns.discard(pair)


def cut():
    global cuts
    for cw, sw in list(conns):
        abort(cw)
        abort(sw)
        cuts += 1
    conns.clear()
    with open(port_file + ".cuts", "w") as f:
        f.write(f"{cuts}\n")


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, cut)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.sockets[0].getsockname()[1]}\n")
    import os
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())
