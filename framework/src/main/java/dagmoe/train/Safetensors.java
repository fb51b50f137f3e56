package dagmoe.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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

/**
 * The safetensors file format, F32 only (what Python's {@code safetensors.numpy.load_file} and
 * {@code safetensors.torch.load_file} read):
 * <pre>
 *   [8 bytes]  N, the header length, unsigned little-endian
 *   [N bytes]  JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *                     "__metadata__": {"key": "string value", ...}}   (space-padded to a multiple of 8)
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

    /** Writes {@code tensors} in iteration order; data offsets are contiguous. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
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
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (Tensor t : tensors.values()) {
                float[] data = t.data();
                for (int i = 0; i < data.length; ) {
                    int n = Math.min(buf.capacity() / 4, data.length - i);
                    buf.clear();
                    buf.asFloatBuffer().put(data, i, n);
                    buf.limit(4 * n);
                    writeFully(ch, buf);
                    i += n;
                }
            }
            ch.force(true);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
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
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode info = e.getValue();
                if (name.equals("__metadata__")) {
                    info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
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
                float[] values = new float[(int) count];
                data.flip().asFloatBuffer().get(values);
                tensors.put(name, new Tensor(shape, values));
            }
            return new Contents(tensors, metadata);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": file not found");
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read (" + e.getMessage() + ")", e);
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
