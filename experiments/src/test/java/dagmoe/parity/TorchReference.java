package dagmoe.parity;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the PyTorch reference (experiments/reference/*.py) with Debian's {@code /usr/bin/python3}, the only
 * interpreter on these machines that has torch. The environment is inherited unchanged (OPENBLAS_CORETYPE
 * included).
 */
final class TorchReference {
    /** Debian's interpreter; -Ddagmoe.python=... overrides it (e.g. to check the skip). */
    static final String PYTHON = System.getProperty("dagmoe.python", "/usr/bin/python3");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Boolean available;
    private static String whyNot = "";

    private TorchReference() {}

    /** True when /usr/bin/python3 can import torch and numpy (checked once). */
    static synchronized boolean available() {
        if (available == null) {
            try {
                Result r = exec(List.of(PYTHON, "-c", "import torch, numpy"), 120);
                available = r.exit == 0;
                whyNot = r.output;
            } catch (IOException e) {
                available = false;
                whyNot = e.getMessage();
            }
        }
        return available;
    }

    static String unavailableMessage() {
        return PYTHON + " cannot import torch and numpy (apt-get install python3-torch python3-numpy; .ci/run does): "
                + whyNot.strip();
    }

    /** The reference folder, from the experiments module (surefire's working directory) or the repository root. */
    static Path script(String name) {
        for (Path p : List.of(Path.of("reference", name), Path.of("experiments", "reference", name)))
            if (Files.isRegularFile(p)) return p.toAbsolutePath();
        throw new IllegalStateException("experiments/reference/" + name + " not found from " + Path.of("").toAbsolutePath());
    }

    /** Runs parity.py over a list of jobs (one Python process for all of them); fails with its output. */
    static void runParityJobs(List<Map<String, Object>> jobs, Path dir) throws IOException {
        Path jobsFile = dir.resolve("jobs.json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(jobsFile.toFile(), jobs);
        Result r = exec(List.of(PYTHON, script("parity.py").toString(), "--jobs", jobsFile.toString()), 300);
        if (r.exit != 0) throw new IllegalStateException("parity.py failed (exit " + r.exit + "):\n" + r.output);
    }

    record Result(int exit, String output) {}

    static Result exec(List<String> cmd, long timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("DAGMOE_REF_MUTATE"); // mutations are chosen per job by the test
        Process p = pb.start();
        try {
            byte[] out = p.getInputStream().readAllBytes(); // ends when the process closes its output
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(124, "timed out after " + timeoutSeconds + " s\n" + new String(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + cmd, e);
        }
    }
}
