package dagmoe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dagmoe.io.AtomicWrite;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Prints benchmark rows as a Markdown table and writes them as a JSON array. */
public final class BenchTable {
    private BenchTable() {}

    /**
     * "busy cores" = JVM CPU time / wall time while timing: below the thread count when other processes hold
     * the cores (then GFLOP/s and % peak understate what the code does on an idle machine).
     */
    public static void printHeader(PrintStream out) {
        out.println("| op | shape | backend | thr | busy cores | reps | first ms | median ms | min ms | cv % | GFLOP/s | % peak | x java |");
        out.println("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }

    public static void printRow(PrintStream out, BenchRow r) {
        out.println(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.2f | %d | %s | %s | %s | %.1f | %s | %.1f | %s |",
                r.op(), r.shape(), r.backend(), r.threads(), r.busyCores(), r.reps(), ms(r.firstMs()), ms(r.medianMs()), ms(r.minMs()),
                100 * r.cv(), num(r.gflops()), 100 * r.peakShare(),
                r.speedupVsJava() == null ? "" : String.format(Locale.ROOT, "%.1f", r.speedupVsJava())));
        out.flush();
    }

    static String ms(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : v >= 1 ? String.format(Locale.ROOT, "%.2f", v)
                : String.format(Locale.ROOT, "%.4f", v);
    }

    static String num(double v) {
        return v >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.3f", v);
    }

    public static void writeJson(Path file, List<BenchRow> rows) throws IOException {
        AtomicWrite.writeBytes(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(rows));
    }
}
