#!/usr/bin/env python3
"""A hostile network between two nodes, for the integration tests.

    slowproxy.py UPSTREAM_PORT [--slice N] [--delay-ms D] [--drop-after BYTES]
                 [--corrupt-at BYTES] [--blackhole-after BYTES]

Listens on a free loopback port (printed on stdout), and forwards every connection to
127.0.0.1:UPSTREAM_PORT, re-slicing the stream into writes of N bytes (default 1) with
a pause of D ms between them. On the first connection only:
  --drop-after       cut it after BYTES bytes in either direction, mid-frame;
  --corrupt-at       flip one bit of the byte at offset BYTES of the upstream's stream;
  --blackhole-after  after BYTES bytes, forward nothing more in either direction but keep
                     both sockets open (a half-open connection, as after a silent
                     network failure).
Runs until killed.
"""
import argparse, asyncio, socket, sys

args = None
first_conn = [True]


async def pipe(reader, writer, budget, corrupt=None, hole=None):
    try:
        seen = 0
        while True:
            data = await reader.read(4096)
            if not data:
                break
            if corrupt is not None and seen <= corrupt < seen + len(data):
                data = bytearray(data)
                data[corrupt - seen] ^= 0x10
                data = bytes(data)
            seen += len(data)
            silence = False
            if hole is not None:
                # Forward exactly the bytes before the threshold, however the reads
                # happened to coalesce: the handshake must not be swallowed with the
                # frames after it.
                if len(data) >= hole[0]:
                    data, silence = data[:max(hole[0], 0)], True
                hole[0] -= len(data)
            for i in range(0, len(data), args.slice):
                writer.write(data[i:i + args.slice])
                await writer.drain()
                if budget is not None:
                    budget[0] -= len(data[i:i + args.slice])
                    if budget[0] <= 0:
                        raise ConnectionResetError("dropped on purpose")
                if args.delay_ms:
                    await asyncio.sleep(args.delay_ms / 1000)
            if silence:
                hole[0] = 0
                await asyncio.sleep(3600)  # silence, sockets left open
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(cr, cw):
    budget = None
    first = first_conn[0]
    if first and args.drop_after:
        budget = [args.drop_after]
    first_conn[0] = False
    corrupt = args.corrupt_at if first and args.corrupt_at else None
    hole = [args.blackhole_after] if first and args.blackhole_after else None
    try:
        ur, uw = await asyncio.open_connection('127.0.0.1', args.upstream)
    except OSError:
        cw.close()
        return
    for w in (cw, uw):
        s = w.get_extra_info('socket')
        if s is not None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t1 = asyncio.ensure_future(pipe(cr, uw, budget, None, hole))
    t2 = asyncio.ensure_future(pipe(ur, cw, budget, corrupt, hole))
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
    p.add_argument('--corrupt-at', type=int, default=0)
    p.add_argument('--blackhole-after', type=int, default=0)
    args = p.parse_args()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
