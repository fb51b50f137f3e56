package dagmoe.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dagmoe.io.AtomicWrite;
import dagmoe.io.Checksums;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The safetensors file format, F32 only (what Python's {@code safetensors.numpy.load_file} and
 * {@code safetensors.torch.load_file} read):
 * <pre>
 *   [8 bytes]  N, the header length, unsigned little-endian
 *   [N bytes]  JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *                     "__metadata__": {"key": "string value", ...}}   (space-padded to a multiple of 8)
 *              our files' metadata holds "crc32c.NAME" (8 hex digits) for every tensor, checked on read
 *   [rest]     the tensors' bytes, little-endian, offsets relative to the end of the header
 * </pre>
 * The reader checks every claim of the header against the file's real size before allocating anything.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A header longer than this is not a checkpoint of ours (ours are a few KB); refuse before reading it. */
    private static final long MAX_HEADER_BYTES = 64L << 20;

    private Safetensors() {}

    /** A tensor: its shape and row-major F32 data (data.length == product of shape). */
    public record Tensor(int[] shape, float[] data) {
        public Tensor {
            long n = 1;
            for (int s : shape) {
                if (s < 0) throw new IllegalArgumentException("negative dimension in shape");
                n *= s;
            }
            if (n != data.length) {
                throw new IllegalArgumentException("shape holds " + n + " values but data has " + data.length);
            }
        }
    }

    /** A file's tensors (in file order) and its {@code __metadata__} strings. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    // ---------------------------------------------------------------- write

    /** The metadata key of a tensor's CRC32C (of its little-endian data bytes). */
    public static final String CRC_PREFIX = "crc32c.";

    /**
     * Writes {@code tensors} in iteration order (data offsets contiguous), atomically. The {@code __metadata__}
     * holds {@code metadata} plus {@code crc32c.<name>} per tensor, sorted by key, so the same tensors and
     * metadata always give the same bytes.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        TreeMap<String, String> meta = new TreeMap<>();
        if (metadata != null) meta.putAll(metadata);
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            CRC32C crc = new CRC32C();
            forEachChunk(e.getValue().data(), buf, crc::update);
            meta.put(CRC_PREFIX + e.getKey(), Checksums.hex(crc.getValue()));
        }
        ObjectNode header = JSON.createObjectNode();
        ObjectNode m = header.putObject("__metadata__");
        meta.forEach(m::put);
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", "F32");
            ArrayNode shape = info.putArray("shape");
            for (int s : t.shape()) shape.add(s);
            long bytes = 4L * t.data().length;
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        AtomicWrite.write(file, 8L + padded + offset, out -> {
            out.write(head.array());
            IOException[] failed = new IOException[1];
            for (Tensor t : tensors.values()) {
                forEachChunk(t.data(), buf, b -> {
                    if (failed[0] != null) return;
                    try {
                        out.write(b.array(), 0, b.limit());
                    } catch (IOException ex) {
                        failed[0] = ex;
                    }
                });
                if (failed[0] != null) throw failed[0];
            }
        });
    }

    /** Bytes a file of these tensors takes (header estimate included), for disk-space messages. */
    public static long bytesOf(Map<String, Tensor> tensors) {
        long n = 8 + 256;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) n += 4L * e.getValue().data().length + 96 + 2L * e.getKey().length();
        return n;
    }

    /** Hands the little-endian bytes of {@code data} to {@code sink} in chunks of {@code buf} (position 0, limit = bytes). */
    private static void forEachChunk(float[] data, ByteBuffer buf, java.util.function.Consumer<ByteBuffer> sink) {
        for (int i = 0; i < data.length; ) {
            int n = Math.min(buf.capacity() / 4, data.length - i);
            buf.clear();
            buf.asFloatBuffer().put(data, i, n);
            buf.limit(4 * n);
            sink.accept(buf);
            i += n;
        }
    }

    // ---------------------------------------------------------------- read

    /** Reads every tensor, validating the header against the file; any problem is a {@link CheckpointException}. */
    public static Contents read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw bad(file, "file is " + size + " bytes, too short for a safetensors header");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
                throw bad(file, "header length " + Long.toUnsignedString(headerLen) + " does not fit a file of "
                        + size + " bytes (truncated or not a safetensors file)");
            }
            ByteBuffer headBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headBuf, 8, file);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headBuf.array(), StandardCharsets.UTF_8).trim());
            } catch (JsonProcessingException e) {
                throw bad(file, "header is not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (header == null || !header.isObject()) throw bad(file, "header is not a JSON object");
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;

            Map<String, String> metadata = new LinkedHashMap<>();
            JsonNode metaNode = header.path("__metadata__");
            if (!metaNode.isMissingNode() && !metaNode.isObject()) throw bad(file, "__metadata__ is not a JSON object");
            metaNode.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
            boolean checksummed = metadata.keySet().stream().anyMatch(k -> k.startsWith(CRC_PREFIX));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode info = e.getValue();
                if (name.equals("__metadata__")) continue;
                if (!info.isObject()) throw bad(file, "tensor " + name + " is not described by a JSON object");
                String dtype = info.path("dtype").asText("");
                if (!dtype.equals("F32")) {
                    throw bad(file, "tensor " + name + " has dtype '" + dtype + "', only F32 is supported");
                }
                JsonNode shapeNode = info.path("shape");
                JsonNode offs = info.path("data_offsets");
                if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                    throw bad(file, "tensor " + name + " has no valid shape/data_offsets");
                }
                int[] shape = new int[shapeNode.size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    long s = shapeNode.get(i).asLong(-1);
                    if (s < 0 || s > Integer.MAX_VALUE) throw bad(file, "tensor " + name + " has a bad dimension " + shapeNode.get(i));
                    shape[i] = (int) s;
                    count *= s;
                    if (count > Integer.MAX_VALUE) throw bad(file, "tensor " + name + " is too large");
                }
                long begin = offs.get(0).asLong(-1), end = offs.get(1).asLong(-1);
                if (begin < 0 || end < begin || end > dataSize) {
                    throw bad(file, "tensor " + name + " data_offsets [" + begin + ", " + end + "] lie outside the "
                            + dataSize + " data bytes (truncated file?)");
                }
                if (end - begin != 4 * count) {
                    throw bad(file, "tensor " + name + " has " + (end - begin) + " bytes but shape "
                            + java.util.Arrays.toString(shape) + " needs " + 4 * count);
                }
                ByteBuffer data = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, data, dataStart + begin, file);
                if (checksummed) {
                    String want = metadata.get(CRC_PREFIX + name);
                    if (want == null) throw bad(file, "tensor " + name + " has no checksum (" + CRC_PREFIX + name + ") in __metadata__");
                    CRC32C crc = new CRC32C();
                    crc.update(data.array(), 0, data.capacity());
                    String got = Checksums.hex(crc.getValue());
                    if (!got.equals(want)) {
                        throw bad(file, "tensor " + name + " is damaged: its data's CRC32C is " + got + " but the file records "
                                + want);
                    }
                }
                float[] values = new float[(int) count];
                data.flip().asFloatBuffer().get(values);
                tensors.put(name, new Tensor(shape, values));
            }
            return new Contents(tensors, metadata);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": file not found");
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read (" + AtomicWrite.reason(e) + ")", e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) throw bad(file, "unexpected end of file (truncated)");
            pos += n;
        }
    }

    private static CheckpointException bad(Path file, String what) {
        return new CheckpointException(file + ": " + what);
    }
}
