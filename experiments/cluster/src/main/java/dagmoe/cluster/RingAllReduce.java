package dagmoe.cluster;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * All-reduce over the replicas' own TCP connections, arranged as a ring (replica r sends to r+1 mod N and
 * receives from r-1). The sum travels the ring in chunks: replica 0 sends its chunk, replica r adds its own to the
 * partial sum from r-1 and passes it on, so replica N-1 holds (((g0 + g1) + g2) + ...) — rank order, the same bits
 * as any other transport would give — and sends it round the ring again (N-1, 0, 1, ..., N-2). Chunks pipeline:
 * while r adds chunk c, r-1 already sends c+1. Every link carries about the whole buffer twice, so the time is
 * about 2·bytes/bandwidth (a reduce-scatter/all-gather ring needs 2·(N-1)/N of that, at the price of an order of
 * additions that depends on the chunk).
 */
final class RingAllReduce extends MeasuredReplicas implements AutoCloseable {
    static final int CHUNK = 1 << 16; // floats per message (256 KiB)

    private final Socket toNext, fromPrev;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
    private final float[] tmp = new float[CHUNK];

    /**
     * Connects the ring: {@code server} is this replica's listening socket, {@code addresses[r]} ("host:port") every
     * replica's, in rank order.
     */
    RingAllReduce(int rank, String[] addresses, ServerSocket server) throws IOException {
        super(rank, addresses.length);
        int n = addresses.length;
        if (n == 1) {
            toNext = fromPrev = null;
            out = null;
            in = null;
            return;
        }
        String[] next = addresses[(rank + 1) % n].split(":");
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress(next[0], Integer.parseInt(next[1])), 60_000);
        toNext = s;
        server.setSoTimeout(120_000);
        fromPrev = server.accept();
        fromPrev.setTcpNoDelay(true);
        out = new DataOutputStream(new BufferedOutputStream(toNext.getOutputStream(), 1 << 16));
        in = new DataInputStream(new BufferedInputStream(fromPrev.getInputStream(), 1 << 16));
    }

    @Override
    protected void reduce(float[] grads, double[] stats) {
        if (size == 1) return;
        try {
            // A token round the ring first: when it is back at replica 0 every replica has arrived, so replica 0 can
            // tell the wait for the slowest replica from the transfer.
            long t0 = System.nanoTime();
            if (rank == 0) {
                out.write(1);
                out.flush();
                in.readByte();
                waitNanos += System.nanoTime() - t0;
            } else {
                in.readByte();
                out.write(1);
                out.flush();
            }
            // reduce along 0 -> 1 -> ... -> N-1
            if (rank > 0) {
                for (int i = 0; i < stats.length; i++) stats[i] = in.readDouble() + stats[i];
                if (rank < size - 1) writeStats(stats);
                for (int at = 0; at < grads.length; at += CHUNK) {
                    int len = Math.min(CHUNK, grads.length - at);
                    receive(tmp, len);
                    for (int i = 0; i < len; i++) grads[at + i] = tmp[i] + grads[at + i];
                    if (rank < size - 1) send(grads, at, len);
                }
            } else {
                writeStats(stats);
                for (int at = 0; at < grads.length; at += CHUNK) send(grads, at, Math.min(CHUNK, grads.length - at));
            }
            out.flush();
            // broadcast along N-1 -> 0 -> 1 -> ... -> N-2
            if (rank == size - 1) {
                writeStats(stats);
                for (int at = 0; at < grads.length; at += CHUNK) send(grads, at, Math.min(CHUNK, grads.length - at));
            } else {
                for (int i = 0; i < stats.length; i++) stats[i] = in.readDouble();
                boolean forward = rank < size - 2;
                if (forward) writeStats(stats);
                for (int at = 0; at < grads.length; at += CHUNK) {
                    int len = Math.min(CHUNK, grads.length - at);
                    receive(tmp, len);
                    System.arraycopy(tmp, 0, grads, at, len);
                    if (forward) send(grads, at, len);
                }
            }
            out.flush();
        } catch (IOException e) {
            String why = e instanceof EOFException ? "replica " + Math.floorMod(rank - 1, size)
                    + " closed its connection (lost?)" : e.toString();
            throw new UncheckedIOException("all-reduce (replica " + rank + " of " + size + "): " + why, e);
        }
    }

    private void writeStats(double[] stats) throws IOException {
        for (double x : stats) out.writeDouble(x);
        sent += 8L * stats.length;
    }

    private void send(float[] a, int at, int len) throws IOException {
        buf.clear();
        buf.asFloatBuffer().put(a, at, len);
        out.write(buf.array(), 0, 4 * len);
        sent += 4L * len;
    }

    private void receive(float[] a, int len) throws IOException {
        in.readFully(buf.array(), 0, 4 * len);
        buf.clear();
        buf.asFloatBuffer().get(a, 0, len);
    }

    @Override
    public void close() {
        for (Socket s : new Socket[] {toNext, fromPrev}) {
            if (s == null) continue;
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
