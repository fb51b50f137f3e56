package dagmoe.cluster;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The ring's sums against a plain rank-order loop, bit for bit, over loopback sockets. */
class RingAllReduceTest {
    @Test
    void ringSumsEqualTheRankOrderSumBitForBit() throws Exception {
        for (int n : new int[] {1, 2, 3, 4}) {
            for (int len : new int[] {1, 7, RingAllReduce.CHUNK, 2 * RingAllReduce.CHUNK + 33}) {
                check(n, len);
            }
        }
    }

    private static void check(int n, int len) throws Exception {
        Random rnd = new Random(31L * n + len);
        float[][] g = new float[n][len];
        double[][] s = new double[n][5];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < len; i++) g[r][i] = (float) (rnd.nextGaussian() * Math.exp(8 * rnd.nextGaussian()));
            for (int i = 0; i < 5; i++) s[r][i] = rnd.nextGaussian() * 1e6;
        }
        float[] want = g[0].clone();
        double[] wantS = s[0].clone();
        for (int r = 1; r < n; r++) {
            for (int i = 0; i < len; i++) want[i] = want[i] + g[r][i];
            for (int i = 0; i < 5; i++) wantS[i] = wantS[i] + s[r][i];
        }
        InetAddress lo = InetAddress.getLoopbackAddress();
        ServerSocket[] servers = new ServerSocket[n];
        String[] addresses = new String[n];
        for (int r = 0; r < n; r++) {
            servers[r] = new ServerSocket(0, 8, lo);
            addresses[r] = lo.getHostAddress() + ":" + servers[r].getLocalPort();
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (RingAllReduce ring = new RingAllReduce(rank, addresses, servers[rank])) {
                        for (int rep = 0; rep < 2; rep++) { // the same ring twice: the second call sums the sums
                            ring.allReduce(g[rank], s[rank]);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
            for (ServerSocket ss : servers) ss.close();
        }
        // after the second call every replica holds n times the first call's sums, again added in rank order
        float[] want2 = want.clone();
        double[] want2S = wantS.clone();
        for (int r = 1; r < n; r++) {
            for (int i = 0; i < len; i++) want2[i] = want2[i] + want[i];
            for (int i = 0; i < 5; i++) want2S[i] = want2S[i] + wantS[i];
        }
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < len; i++) {
                assertEquals(Float.floatToIntBits(want2[i]), Float.floatToIntBits(g[r][i]), "n " + n + " len " + len + " rank " + r + " [" + i + "]");
            }
            assertArrayEquals(want2S, s[r], "stats, n " + n + " rank " + r);
        }
    }
}
