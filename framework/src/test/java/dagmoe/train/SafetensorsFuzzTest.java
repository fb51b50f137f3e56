package dagmoe.train;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fuzzing the safetensors reader: a valid file with random damage (flipped bytes, truncation, a rewritten
 * header length, header numbers replaced by huge or negative ones, garbage headers) either loads or fails with
 * a {@link CheckpointException} naming the file, never another exception, and the reader never allocates
 * much more than the file's size.
 */
class SafetensorsFuzzTest {
    static Path dir;
    static byte[] valid;

    @BeforeContainer
    static void writeValid() throws Exception {
        dir = Files.createTempDirectory("st-fuzz");
        Map<String, Safetensors.Tensor> m = new LinkedHashMap<>();
        m.put("tok_emb", new Safetensors.Tensor(new int[]{8, 4}, new float[32]));
        m.put("blocks.0.norm", new Safetensors.Tensor(new int[]{4}, new float[]{1, 2, 3, 4}));
        m.put("scalar", new Safetensors.Tensor(new int[]{}, new float[]{7}));
        Path f = dir.resolve("valid.safetensors");
        Safetensors.write(f, m, Map.of("step", "3"));
        valid = Files.readAllBytes(f);
    }

    @AfterContainer
    static void cleanUp() throws Exception {
        dagmoe.io.AtomicWrite.deleteTree(dir);
    }

    @Provide
    Arbitrary<byte[]> damaged() {
        return Arbitraries.longs().map(seed -> mutate(valid, new Random(seed)));
    }

    static byte[] mutate(byte[] good, Random r) {
        byte[] b = good.clone();
        int headerLen = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        switch (r.nextInt(6)) {
            case 0 -> { // flipped bytes anywhere
                for (int i = 1 + r.nextInt(8); i > 0; i--) b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255));
            }
            case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length)); // truncated
            case 2 -> { // a rewritten header length
                long[] lens = {0, 1, 2, 7, headerLen - 1, headerLen + 1, b.length, Long.MAX_VALUE, -1, 1L << 40, r.nextLong()};
                ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(lens[r.nextInt(lens.length)]);
            }
            case 3 -> { // numbers in the header replaced
                String h = new String(b, 8, headerLen, StandardCharsets.UTF_8);
                String[] nums = {"-1", "2147483648", "99999999999999999999", "1e9", "0", "4294967296", "-0", "1.5", "\"8\"", "null"};
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\d+").matcher(h);
                StringBuilder sb = new StringBuilder();
                while (m.find()) m.appendReplacement(sb, r.nextInt(4) == 0 ? nums[r.nextInt(nums.length)] : m.group());
                m.appendTail(sb);
                b = withHeader(b, headerLen, sb.toString());
            }
            case 4 -> { // a header that is not what it should be
                String[] heads = {"[]", "{}", "null", "{\"a\": 1}", "{\"a\": {\"dtype\": \"F32\"}}", "{\"__metadata__\": 3}",
                        "{\"a\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2]}}",
                        "{\"a\": {\"dtype\": \"F32\", \"shape\": [1048576, 1048576], \"data_offsets\": [0, 4]}}",
                        "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
                        "[".repeat(5000), "{\"a\": \"" + "x".repeat(100) + "\"}", "\u00ff\u00fe", ""};
                b = withHeader(b, headerLen, heads[r.nextInt(heads.length)]);
            }
            default -> { // random bytes after a plausible header length
                byte[] junk = new byte[r.nextInt(2048)];
                r.nextBytes(junk);
                b = new byte[8 + junk.length];
                ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(r.nextInt(junk.length + 16));
                System.arraycopy(junk, 0, b, 8, junk.length);
            }
        }
        return b;
    }

    static byte[] withHeader(byte[] b, int oldLen, String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[8 + h.length + (b.length - 8 - oldLen)];
        ByteBuffer.wrap(out, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(b, 8 + oldLen, out, 8 + h.length, b.length - 8 - oldLen);
        return out;
    }

    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Property
    void damagedFilesLoadOrFailNamingTheFile(@ForAll("damaged") byte[] bytes) throws Exception {
        Path f = dir.resolve("fuzz.safetensors");
        Files.write(f, bytes);
        long before = allocatedBytes();
        try {
            Safetensors.Contents c = Safetensors.read(f);
            long data = c.tensors().values().stream().mapToLong(t -> 4L * t.data().length).sum();
            assertTrue(data <= bytes.length, "tensors hold no more bytes than the file");
        } catch (CheckpointException e) {
            assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        }
        long allocated = allocatedBytes() - before;
        assertTrue(allocated < 64L * bytes.length + (4 << 20), "allocated " + allocated + " bytes for a file of " + bytes.length);
    }

    @Property(tries = 20)
    void validFilesStillLoad(@ForAll("sizes") List<Integer> dims) throws Exception {
        Path f = dir.resolve("ok.safetensors");
        Map<String, Safetensors.Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < dims.size(); i++) {
            float[] d = new float[dims.get(i)];
            for (int j = 0; j < d.length; j++) d[j] = i * 1000 + j;
            m.put("t" + i, new Safetensors.Tensor(new int[]{d.length}, d));
        }
        Safetensors.write(f, m, Map.of());
        Safetensors.Contents c = Safetensors.read(f);
        for (var e : m.entrySet()) assertArrayEquals(e.getValue().data(), c.tensors().get(e.getKey()).data());
    }

    @Provide
    Arbitrary<List<Integer>> sizes() {
        return Arbitraries.integers().between(0, 3000).list().ofMinSize(1).ofMaxSize(5);
    }
}
