package dagmoe.parity;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fast PyTorch peer of {@code bench --peer torch} (experiments/reference/peer_model.py) computes the
 * reference's function: selfcheck.py compares its loss and every gradient with dagmoe_ref in float64 for sum,
 * dag, shared and mlp-mix, with both dispatches (and the reference's own identities).
 */
class PeerModelTest {
    @Test
    void fastPeerModelMatchesTheReference() throws Exception {
        assumeTrue(TorchReference.available(), TorchReference::unavailableMessage);
        TorchReference.Result r = TorchReference.exec(List.of(TorchReference.PYTHON,
                TorchReference.script("selfcheck.py").toString()), 600);
        assertEquals(0, r.exit(), r.output());
        for (String agg : List.of("sum", "dag", "shared", "mlp-mix"))
            for (String dispatch : List.of("sorted", "padded"))
                assertTrue(r.output().matches("(?s).*fast peer model " + agg + " +" + dispatch + ": loss and gradients match.*"), r.output());
    }
}
