package dagmoe.kernels;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The project's own parallel-loop marker. Put it on the induction variable of an outer loop whose
 * iterations are independent (no two iterations write the same element, no reduction across them):
 * {@code for (@Parallel int i = 0; i < n; i++)}.
 *
 * <p>Plain Java ignores it. TornadoVM maps marked loops (up to three nested) to an NDRange when the
 * JVM is started with {@code -Dtornado.load.annotation.parallel=dagmoe.kernels.Parallel}. Both the
 * {@code TYPE_USE} target and runtime retention are required, and the kernel classes must be compiled
 * with {@code -g}: without any of them TornadoVM silently runs the kernel on one thread.
 */
@Target({ElementType.LOCAL_VARIABLE, ElementType.TYPE_USE})
@Retention(RetentionPolicy.RUNTIME)
public @interface Parallel {}
