#!/usr/bin/env python3
"""A hostile network between two nodes, for the integration tests.

    slowproxy.py UPSTREAM_PORT [--slice N] [--delay-ms D] [--drop-after BYTES]

Listens on a free loopback port (printed on stdout), and forwards every connection to
127.0.0.1:UPSTREAM_PORT, re-slicing the stream into writes of N bytes (default 1) with
a pause of D ms between them. The first connection is cut after BYTES bytes in either
direction, mid-frame. Runs until killed.
"""
import argparse, asyncio, socket, sys

args = None
first_conn = [True]


async def pipe(reader, writer, budget):
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            for i in range(0, len(data), args.slice):
                writer.write(data[i:i + args.slice])
                await writer.drain()
                if budget is not None:
                    budget[0] -= len(data[i:i + args.slice])
                    if budget[0] <= 0:
                        raise ConnectionResetError("dropped on purpose")
                if args.delay_ms:
                    await asyncio.sleep(args.delay_ms / 1000)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(cr, cw):
    budget = None
    if first_conn[0] and args.drop_after:
        budget = [args.drop_after]
    first_conn[0] = False
    try:
        ur, uw = await asyncio.open_connection('127.0.0.1', args.upstream)
    except OSError:
        cw.close()
        return
    for w in (cw, uw):
        s = w.get_extra_info('socket')
        if s is not None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t1 = asyncio.ensure_future(pipe(cr, uw, budget))
    t2 = asyncio.ensure_future(pipe(ur, cw, budget))
    done, pending = await asyncio.wait([t1, t2], return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    cw.close()
    uw.close()


async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('upstream', type=int)
    p.add_argument('--slice', type=int, default=1)
    p.add_argument('--delay-ms', type=float, default=0)
    p.add_argument('--drop-after', type=int, default=0)
    args = p.parse_args()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
