package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsTest {
    @TempDir Path tmp;

    private static Map<String, Safetensors.Tensor> sample() {
        Map<String, Safetensors.Tensor> m = new LinkedHashMap<>();
        m.put("tok_emb", new Safetensors.Tensor(new int[]{3, 2}, new float[]{1f, -2f, 3.5f, Float.MIN_VALUE, 1e30f, -0f}));
        m.put("final_norm", new Safetensors.Tensor(new int[]{4}, new float[]{1, 1, 1, 0.25f}));
        m.put("scalar", new Safetensors.Tensor(new int[]{}, new float[]{7f}));
        return m;
    }

    @Test
    void roundTripKeepsBitsShapesOrderAndMetadata() throws Exception {
        Path f = tmp.resolve("a.safetensors");
        Safetensors.write(f, sample(), Map.of("step", "12"));
        Safetensors.Contents c = Safetensors.read(f);
        assertEquals(sample().keySet().stream().toList(), c.tensors().keySet().stream().toList());
        for (var e : sample().entrySet()) {
            var got = c.tensors().get(e.getKey());
            assertArrayEquals(e.getValue().shape(), got.shape());
            for (int i = 0; i < got.data().length; i++) {
                assertEquals(Float.floatToRawIntBits(e.getValue().data()[i]), Float.floatToRawIntBits(got.data()[i]));
            }
        }
        assertEquals("12", c.metadata().get("step"));
    }

    /** Decodes the file by hand, following the published format, independent of the reader. */
    @Test
    void layoutFollowsTheSafetensorsSpec() throws Exception {
        Path f = tmp.resolve("b.safetensors");
        Safetensors.write(f, sample(), Map.of());
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        assertEquals(0, (8 + n) % 8, "data section starts 8-byte aligned");
        JsonNode h = new ObjectMapper().readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
        JsonNode emb = h.get("tok_emb");
        assertEquals("F32", emb.get("dtype").asText());
        assertEquals("[3,2]", emb.get("shape").toString());
        int begin = emb.get("data_offsets").get(0).asInt();
        assertEquals(3.5f, b.getFloat((int) (8 + n + begin + 2 * 4)));
        JsonNode norm = h.get("final_norm");
        assertEquals(0.25f, b.getFloat((int) (8 + n + norm.get("data_offsets").get(0).asInt() + 12)));
        assertEquals(bytes.length - 8 - n, h.get("scalar").get("data_offsets").get(1).asLong(), "no trailing bytes");
    }

    @Test
    void truncatedFileIsACheckpointExceptionNamingFileAndTensor() throws Exception {
        Path f = tmp.resolve("c.safetensors");
        Safetensors.write(f, sample(), Map.of());
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length - 6));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("scalar") || e.getMessage().contains("final_norm"), e.getMessage());

        Files.write(f, Arrays.copyOf(all, 5));
        assertThrows(CheckpointException.class, () -> Safetensors.read(f));
    }

    @Test
    void hugeHeaderLengthIsRejectedWithoutAllocating() throws Exception {
        Path f = tmp.resolve("d.safetensors");
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(Long.MAX_VALUE - 3);
        Files.write(f, b.array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        b.putLong(0, 1L << 40); // 1 TB
        Files.write(f, b.array());
        assertThrows(CheckpointException.class, () -> Safetensors.read(f));
    }

    @Test
    void wrongDtypeAndInconsistentShapeAreRejected() throws Exception {
        String header = "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        Path f = tmp.resolve("e.safetensors");
        Files.write(f, raw(header, 4));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().contains("tensor w") && e.getMessage().contains("F16"), e.getMessage());

        Files.write(f, raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
        e = assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().contains("tensor w"), e.getMessage());

        Files.write(f, raw("{not json", 8));
        assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertThrows(CheckpointException.class, () -> Safetensors.read(tmp.resolve("missing.safetensors")));
    }

    private static byte[] raw(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    /** Offset of a tensor's data in the file (8 + header length + its begin offset). */
    static long dataOffset(Path f, String tensor) throws Exception {
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode h = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8).trim());
        return 8 + n + h.get(tensor).get("data_offsets").get(0).asLong();
    }

    @Test
    void flippedDataBytesAreCaughtNamingTheTensor() throws Exception {
        Path f = tmp.resolve("c.safetensors");
        Safetensors.write(f, sample(), Map.of());
        byte[] b = Files.readAllBytes(f);
        b[(int) dataOffset(f, "final_norm") + 5] ^= 0x40;
        Files.write(f, b);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().startsWith(f + ": tensor final_norm is damaged"), e.getMessage());
    }

    @Test
    void checksumsAreInTheMetadataAndHeadersAreByteReproducible() throws Exception {
        Path a = tmp.resolve("a.safetensors"), b = tmp.resolve("b.safetensors");
        Map<String, String> m1 = new LinkedHashMap<>(), m2 = new LinkedHashMap<>();
        m1.put("step", "3");
        m1.put("format", "pt");
        m2.put("format", "pt");
        m2.put("step", "3");
        Safetensors.write(a, sample(), m1);
        Safetensors.write(b, sample(), m2);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "same tensors and metadata, same bytes");
        Map<String, String> meta = Safetensors.read(a).metadata();
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        ByteBuffer bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : new float[]{1, 1, 1, 0.25f}) bytes.putFloat(x);
        crc.update(bytes.array());
        assertEquals(String.format("%08x", crc.getValue()), meta.get("crc32c.final_norm"));
        assertEquals(List.of("crc32c.final_norm", "crc32c.scalar", "crc32c.tok_emb", "format", "step"), List.copyOf(meta.keySet()));
        // No temporary is left next to the file.
        try (var s = Files.list(tmp)) {
            assertEquals(List.of("a.safetensors", "b.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
