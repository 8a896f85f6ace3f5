"""tesa.torch: PyTorch models exported through torch-mlir, with masks.

Each model is exported with its masks as encodings, propagated, decomposed
and lowered by tesa-opt's CPU pipeline, run by mlir-runner, and compared with
what PyTorch computes with the same (masked) weights. The GPU path of the same
models is bench/torch_models.py.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir")

import tesa.torch as tt  # noqa: E402
from mlir_runner import call_module, run_lowered, runner_available  # noqa: E402
from tesa import TesaError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))

needs_tesa_opt = pytest.mark.skipif(not Path(TESA_OPT).exists(),
                                    reason=f"{TESA_OPT} not built")
needs_runner = pytest.mark.skipif(
    not runner_available(), reason="mlir-runner or its libraries not found")


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 128)
        self.fc2 = torch.nn.Linear(128, 32)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def seeded(module):
    torch.manual_seed(0)
    return module().eval()


def small_mobilenet():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10)
    model.eval()
    with torch.no_grad():  # running statistics other than 0 and 1
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model


class SmallBert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        transformers = pytest.importorskip("transformers")
        config = transformers.BertConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=128, vocab_size=100, max_position_embeddings=64)
        self.bert = transformers.BertModel(config, add_pooling_layer=False)

    def forward(self, input_ids):
        return self.bert(input_ids=input_ids).last_hidden_state


class PaddedSmallBert(SmallBert):
    """SmallBert called with an attention mask (padding by key)."""

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids,
                         attention_mask=attention_mask).last_hidden_state


def padded_bert_inputs():
    """Token ids and an attention mask whose last four keys are padding."""
    ids = torch.randint(0, 100, (1, 16))
    mask = torch.ones(1, 16, dtype=torch.int64)
    mask[0, 12:] = 0
    return ids, mask


def run_on_cpu(exported, inputs, passes=("--tesa-propagate",
                                          "--tesa-decompose"),
               lowering="--tesa-cpu-pipeline"):
    """What the exported program computes on `inputs`, through tesa-opt's
    CPU pipeline, or `lowering` (weights as constants)."""
    with torch.no_grad():
        reference = exported.model(*inputs).numpy()
    element = "f16" if reference.dtype == np.float16 else "f32"
    text = call_module(exported.mlir, exported.function,
                       [x.numpy() for x in inputs], reference.shape, element)
    lowered = subprocess.run([TESA_OPT, *passes, lowering, "-"],
                             input=text, capture_output=True, text=True)
    assert lowered.returncode == 0, lowered.stderr[-3000:]
    return run_lowered(lowered.stdout).reshape(reference.shape), reference


def relative_error(result, reference):
    return np.abs(result - reference).max() / np.abs(reference).max()


def propagation_report(text):
    run = subprocess.run(
        [TESA_OPT, "--tesa-propagate=report=- report-format=json", "-o",
         os.devnull, "-"], input=text, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


# --- masks -------------------------------------------------------------------


def test_prune_masks_are_found_and_applied():
    model = seeded(MLP)
    torch.nn.utils.prune.l1_unstructured(model.fc1, "weight", amount=0.75)
    exported = tt.export(model, (torch.randn(16, 64),), weights="constants")
    assert list(exported.maps) == ["fc1.weight"]
    grid = exported.maps["fc1.weight"]
    assert grid.shape == (128, 64) and set(np.unique(grid)) == {0, 32}
    assert (grid == 0).sum() == 128 * 64 * 3 // 4
    # The user's model is untouched; the exported copy is pruned.
    assert hasattr(model.fc1, "weight_orig")
    assert not hasattr(exported.model.fc1, "weight_orig")
    weight = exported.model.fc1.weight.detach().numpy()
    assert np.all(weight[grid == 0] == 0)


def test_block_masks_and_bits_are_written_at_their_grid():
    model = seeded(MLP)
    mask = np.kron(np.array([[1, 0], [0, 1], [1, 1], [0, 0]]),
                   np.ones((32, 32), dtype=np.int64))
    exported = tt.export(model, (torch.randn(16, 64),),
                         masks={"fc1.weight": mask}, bits={"fc2.weight": 8})
    assert exported.maps["fc1.weight"].tolist() == \
        [[32, 0], [0, 32], [32, 32], [0, 0]]
    assert exported.maps["fc2.weight"].tolist() == [[8]]
    assert ("tensor<128x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, "
            "32], [32, 32], [0, 0]]> : tensor<4x2xi8>>>") in exported.mlir
    assert "tensor<32x128xf32, #tesa.sparsity<bits = 8>>" in exported.mlir


def test_weights_as_arguments_name_every_parameter():
    model = seeded(MLP)
    mask = np.ones((32, 128), dtype=np.int64)
    mask[:, 64:] = 0
    exported = tt.export(model, (torch.randn(16, 64),),
                         masks={"fc2.weight": mask})
    assert exported.arguments[0] == ("input", 0)
    assert sorted(exported.parameter_names) == sorted(
        n for n, _ in model.named_parameters())
    header = exported.mlir[exported.mlir.index("func.func @forward"):]
    header = header[:header.index("{")]
    index = 1 + exported.parameter_names.index("fc2.weight")
    assert (f"%arg{index}: tensor<32x128xf32, #tesa.sparsity<map = "
            "dense<[[32, 0]]> : tensor<1x2xi8>>>") in header


@needs_tesa_opt
def test_masks_follow_the_weight_through_the_importers_transpose():
    # fc2's pruned input columns make fc1's matching output rows (its
    # weight's rows, after torch-mlir's transpose) and bias entries dead.
    model = seeded(MLP)
    mask = np.ones((32, 128), dtype=np.int64)
    mask[:, 64:] = 0
    exported = tt.export(model, (torch.randn(16, 64),),
                         masks={"fc2.weight": mask})
    report = propagation_report(exported.mlir)
    by_argument = {t["value"]: t for t in report["values"]
                   if t["producer"] == "argument"}
    for name in ("fc1.weight", "fc1.bias"):
        tensor = by_argument[f"%arg{1 + exported.parameter_names.index(name)}"]
        assert tensor["before"]["0"] == 0
        assert tensor["after"]["0"] == tensor["elements"] // 2, name


# --- bad input ---------------------------------------------------------------


def test_a_mask_of_the_wrong_shape_names_the_parameter():
    with pytest.raises(TesaError, match=r"fc1\.weight: mask of shape \(64, "
                       r"128\) does not match the parameter's shape \(128, "
                       r"64\)"):
        tt.export(seeded(MLP), (torch.randn(16, 64),),
                  masks={"fc1.weight": np.ones((64, 128))})


def test_unknown_parameters_and_bad_entries_are_errors():
    x = (torch.randn(16, 64),)
    with pytest.raises(TesaError, match="no parameter named fc3.weight"):
        tt.export(seeded(MLP), x, masks={"fc3.weight": np.ones((1, 1))})
    with pytest.raises(TesaError, match=r"fc1\.weight: mask entries are 0/1 "
                       "or bit widths"):
        tt.export(seeded(MLP), x, masks={"fc1.weight": np.full((1, 1), 3)})
    with pytest.raises(TesaError, match="fc2.weight: bits must be one of"):
        tt.export(seeded(MLP), x, bits={"fc2.weight": 2})
    with pytest.raises(TesaError, match="weights must be one of"):
        tt.export(seeded(MLP), x, weights="buffers")


class SortedFeatures(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = MLP()

    def forward(self, x):
        return torch.sort(self.head(x)).values


class Spectrum(torch.nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()


def test_an_op_tesa_cannot_compile_names_the_op_and_module():
    with pytest.raises(TesaError, match=r"tesa cannot compile SortedFeatures: "
                       r"'tm_tensor.sort' from <top level> "
                       r"\(aten.sort.default\)"):
        tt.export(SortedFeatures(), (torch.randn(16, 64),))


def test_an_op_the_importer_cannot_lower_is_an_error():
    with pytest.raises(TesaError, match=r"(?s)torch-mlir cannot lower "
                       r"Spectrum to linalg:.*aten.abs.default"):
        tt.export(Spectrum(), (torch.randn(8),))


@needs_tesa_opt
def test_diagnostics_locate_ops_at_their_module_path():
    model = seeded(MLP)
    exported = tt.export(model, (torch.randn(16, 64),))
    assert '"fc1 (aten.permute.default) in ' in exported.mlir
    assert '"fc2 (aten.addmm.default) in ' in exported.mlir or \
        '"fc2 (aten.' in exported.mlir


# --- the CPU pipeline against PyTorch ----------------------------------------


@needs_tesa_opt
@needs_runner
def test_pruned_mlp_matches_pytorch():
    model = seeded(MLP)
    torch.nn.utils.prune.l1_unstructured(model.fc1, "weight", amount=0.5)
    mask = np.ones((32, 128), dtype=np.int64)
    mask[:, 64:] = 0
    x = torch.randn(16, 64)
    exported = tt.export(model, (x,), masks={"fc2.weight": mask},
                         weights="constants")
    result, reference = run_on_cpu(exported, (x,))
    assert relative_error(result, reference) < 1e-5


def channel_masks(model, kept=0.5, seed=1):
    """Half the output channels of every non-depthwise convolution."""
    rng = np.random.default_rng(seed)
    masks = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d) and module.groups == 1:
            channels = module.out_channels
            grid = np.zeros((channels, 1, 1, 1), dtype=np.int64)
            grid[rng.permutation(channels)[:max(1, int(channels * kept))]] = 1
            masks[f"{name}.weight"] = grid
    return masks


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("pattern", ["dense", "channels"])
def test_mobilenet_v2_matches_pytorch(pattern):
    model = small_mobilenet()
    masks = channel_masks(model) if pattern == "channels" else None
    x = torch.randn(1, 3, 32, 32)
    exported = tt.export(model, (x,), masks=masks, weights="constants")
    # Batch norms are folded into the convolutions before them.
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in exported.model.modules())
    assert "linalg.depthwise_conv_2d_nchw_chw" in exported.mlir
    result, reference = run_on_cpu(exported, (x,))
    assert relative_error(result, reference) < 1e-4


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("precision", ["f32", "f16"])
def test_mobilenet_v2_through_host_kernels_matches_pytorch(precision):
    """The GPU pipeline's own kernels for sm_80 (the convolution family's
    runs, the pointwise convolutions as batched products, on tensor cores
    in f16, the generic path), each launch run as host loops
    (--tesa-host-pipeline)."""
    model = small_mobilenet()
    x = torch.randn(1, 3, 32, 32)
    if precision == "f16":
        model, x = model.half(), x.half()
    exported = tt.export(model, (x,), weights="constants")
    result, reference = run_on_cpu(
        exported, (x,), passes=("--tesa-propagate",),
        lowering="--tesa-host-pipeline=chip=sm_80")
    # f16: PyTorch rounds its activations to f16 at other points.
    assert relative_error(result, reference) < (
        1e-2 if precision == "f16" else 1e-4)


def bert_weight_masks(model, seed, mask_of):
    """A mask for every weight matrix outside the embeddings:
    mask_of(rng, rows, columns), from a generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return {name: mask_of(rng, *parameter.shape).astype(np.int64)
            for name, parameter in model.named_parameters()
            if parameter.dim() == 2 and "embeddings" not in name}


def bert_block_masks(model):
    """Half the 32x32 blocks of every weight matrix outside the
    embeddings."""
    return bert_weight_masks(
        model, 3, lambda rng, rows, columns:
        rng.random((rows // 32, columns // 32)) < 0.5)


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("pattern", ["dense", "blocks", "blocks_int8"])
def test_bert_matches_pytorch(pattern):
    torch.manual_seed(0)
    model = SmallBert().eval()
    masks, bits = None, None
    if pattern != "dense":
        masks = bert_block_masks(model)
        bits = 8 if pattern == "blocks_int8" else None
    ids = torch.randint(0, 100, (1, 16))
    exported = tt.export(model, (ids,), masks=masks, bits=bits,
                         weights="constants")
    result, reference = run_on_cpu(exported, (ids,))
    # int8 weights: within the rounding of 8-bit weights through two layers.
    assert relative_error(result, reference) < (
        5e-2 if bits else 1e-4)


@needs_tesa_opt
@needs_runner
def test_f16_bert_blocks_are_f16_parts_and_match_pytorch():
    """torch-mlir widens f16 operands to f32 before each product; the GPU
    pipeline's first passes fold the widenings, so the pruned f16 weights
    become f16 parts accumulating in f32, read as they are."""
    exported, ids, part_lines = decomposed_f16_bert(bert_block_masks)
    # The weights' products (those propagation leaves any kept block), each
    # f16 parts into f32.
    assert len(part_lines) >= 10
    assert all(re.search(r"bits = 16 .* : tensor<\w+xf16\b.*, "
                         r"tensor<\w+xf16, .*-> tensor<\w+xf32", line)
               for line in part_lines)
    result, reference = run_on_cpu(exported, (ids,),
                                   F16_BERT_PASSES + ("--tesa-decompose",))
    assert relative_error(result.astype(np.float32),
                          reference.astype(np.float32)) < 1e-2


# The GPU pipeline's passes before the decomposition that an f16 BERT's
# parts depend on.
F16_BERT_PASSES = ("--tesa-propagate", "--tesa-fold-operand-extensions",
                   "--tesa-fold-bias-into-accumulator")


def decomposed_f16_bert(make_masks, chip=None):
    """A small f16 BERT with the masks `make_masks` gives for it, exported
    with constant weights, its inputs, and the `tesa.part_matmul` lines of
    its decomposition (for `chip`, else the default) after F16_BERT_PASSES;
    checks that every sparse product is decomposed."""
    torch.manual_seed(0)
    model = SmallBert().eval()
    masks = make_masks(model)
    model = model.half()
    ids = torch.randint(0, 100, (1, 16))
    exported = tt.export(model, (ids,), masks=masks, weights="constants")
    decompose = "--tesa-decompose=remarks=true" + (
        f" chip={chip}" if chip else "")
    parts = subprocess.run([TESA_OPT, *F16_BERT_PASSES, decompose, "-"],
                           input=exported.mlir, capture_output=True,
                           text=True)
    assert parts.returncode == 0, parts.stderr[-3000:]
    assert "not decomposed" not in parts.stderr
    return exported, ids, [line for line in parts.stdout.splitlines()
                           if "tesa.part_matmul" in line]


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("precision", ["f32", "f16"])
def test_bert_blocks_through_host_kernels_match_pytorch(precision):
    """Half the 32x32 blocks pruned, through the GPU pipeline's own kernels
    for sm_80 run as host loops (--tesa-host-pipeline): the embeddings'
    gathers with their bounds checks, the kept-block parts (FMA tiles in
    f32, mma.sync in f16), one attention kernel a layer, the layer norms."""
    torch.manual_seed(0)
    model = SmallBert().eval()
    masks = bert_block_masks(model)
    if precision == "f16":
        model = model.half()
    ids = torch.randint(0, 100, (1, 16))
    exported = tt.export(model, (ids,), masks=masks, weights="constants")
    result, reference = run_on_cpu(
        exported, (ids,), passes=("--tesa-propagate",),
        lowering="--tesa-host-pipeline=chip=sm_80")
    assert relative_error(result.astype(np.float32),
                          reference.astype(np.float32)) < (
        1e-2 if precision == "f16" else 1e-4)


def bert_two_four_masks(model):
    """Two of every four consecutive input elements of every weight matrix
    outside the embeddings, at random positions: 2:4 along each Linear's
    reduction."""
    def two_of_four(rng, rows, columns):
        ranks = rng.random((rows, columns // 4, 4)).argsort(2).argsort(2)
        return (ranks < 2).reshape(rows, columns)
    return bert_weight_masks(model, 5, two_of_four)


@needs_tesa_opt
@needs_runner
def test_f16_bert_two_four_through_host_kernels_matches_pytorch():
    """f16 weights 2:4 along their reduction become structured parts (f16
    operands into f32, packed at compile time from torch-mlir's transposes
    of the constant weights), and through the GPU pipeline's own kernels
    for sm_80 (`mma.sp`, each launch as host loops) the model still matches
    PyTorch."""
    exported, ids, part_lines = decomposed_f16_bert(bert_two_four_masks,
                                                    chip="sm_80")
    assert len(part_lines) >= 10
    assert all("tesa.part_matmul structured" in line for line in part_lines)
    result, reference = run_on_cpu(
        exported, (ids,), passes=("--tesa-propagate",),
        lowering="--tesa-host-pipeline=chip=sm_80")
    assert relative_error(result.astype(np.float32),
                          reference.astype(np.float32)) < 1e-2


def exported_encoder_layer():
    """A small nn.TransformerEncoderLayer exported with its weights as
    constants, and an input."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(
        d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
        batch_first=True).eval()
    x = torch.randn(2, 8, 32)
    return tt.export(layer, (x,), weights="constants"), x


@needs_tesa_opt
@needs_runner
def test_transformer_encoder_layer_matches_pytorch():
    # torch-mlir writes its "safe softmax" with i1 tensors and selects.
    exported, x = exported_encoder_layer()
    assert "xi1>" in exported.mlir and "arith.select" in exported.mlir
    result, reference = run_on_cpu(exported, (x,))
    assert relative_error(result, reference) < 1e-5


# The rewrites the GPU pipeline makes before forming kernel regions, and the
# regions themselves, put back in place: on the CPU they must compute what
# PyTorch does.
REGION_FORMS = ("--tesa-propagate", "--tesa-decompose",
                "--tesa-decompose-aggregated-ops",
                "--tesa-fold-operand-extensions",
                "--tesa-convolutions-as-products=only-pointwise=true",
                "--tesa-normalize-row-programs",
                "--tesa-fuse-elementwise-chains",
                "--tesa-drop-unit-batch-loops",
                "--tesa-fold-operand-extensions", "--tesa-form-kernel-regions",
                "--tesa-form-attention-regions=chip=sm_90",
                "--tesa-inline-kernel-regions")


@needs_tesa_opt
@needs_runner
def test_mobilenet_v2_in_region_forms_matches_pytorch():
    model = small_mobilenet()
    x = torch.randn(2, 3, 32, 32)
    exported = tt.export(model, (x,), weights="constants")
    forms = subprocess.run([TESA_OPT, *REGION_FORMS[:5], "-"],
                           input=exported.mlir, capture_output=True,
                           text=True)
    assert forms.returncode == 0, forms.stderr[-3000:]
    # The 1x1 convolutions are batched products now; the 3x3 one is not.
    assert forms.stdout.count("linalg.conv_2d_nchw_fchw") == 1
    result, reference = run_on_cpu(exported, (x,), REGION_FORMS)
    assert relative_error(result, reference) < 1e-4


@needs_tesa_opt
@needs_runner
def test_bert_in_region_forms_matches_pytorch():
    torch.manual_seed(0)
    model = SmallBert().eval()
    ids = torch.randint(0, 100, (1, 16))
    exported = tt.export(model, (ids,), weights="constants")
    result, reference = run_on_cpu(exported, (ids,), REGION_FORMS)
    assert relative_error(result, reference) < 1e-4


@needs_tesa_opt
@needs_runner
def test_padded_bert_in_region_forms_matches_pytorch():
    """With padding keys, each layer's scores read the mask's booleans by
    query and by key (see test_bert_attention_is_one_region_a_layer)."""
    torch.manual_seed(0)
    model = PaddedSmallBert().eval()
    inputs = padded_bert_inputs()
    exported = tt.export(model, inputs, weights="constants")
    result, reference = run_on_cpu(exported, inputs, REGION_FORMS)
    assert relative_error(result, reference) < 1e-4


def form_regions(exported):
    """The exported program with its kernel regions formed as the GPU
    pipeline forms them (REGION_FORMS, not inlined)."""
    formed = subprocess.run([TESA_OPT, *REGION_FORMS[:-1], "-"],
                            input=exported.mlir, capture_output=True,
                            text=True)
    assert formed.returncode == 0, formed.stderr[-3000:]
    return formed.stdout


@needs_tesa_opt
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_bert_attention_is_one_region_a_layer(dtype, padded):
    """torch-mlir's attention (the heads moved and scaled, the mask add and
    the safe softmax over a unit batch, the heads' permute after the
    context) becomes one attention region in each of the two layers, in f32
    (exact-f32 tiles) and in f16 (tensor cores), with or without padding.
    The mask, computed once as 0 / -inf over queries x keys, is not: each
    layer's scores read its booleans by query and by key instead."""
    torch.manual_seed(0)
    model = (PaddedSmallBert() if padded else SmallBert()).eval().to(dtype)
    inputs = padded_bert_inputs() if padded else (
        torch.randint(0, 100, (1, 16)),)
    exported = tt.export(model, inputs, weights="constants")
    formed = form_regions(exported)
    assert formed.count("tesa.kernel attention") == 2
    assert "tesa.kernel row_reduction -> tensor<4x16x16x" not in formed
    assert "tensor<1x1x16x16x" not in formed


@needs_tesa_opt
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_transformer_encoder_layer_attention_is_one_region(dtype):
    """nn.TransformerEncoderLayer's attention (Q, K and V from one packed
    projection) is one attention region too."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(
        d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
        batch_first=True).eval().to(dtype)
    x = torch.randn(1, 16, 64).to(dtype)
    exported = tt.export(layer, (x,), weights="constants")
    assert form_regions(exported).count("tesa.kernel attention") == 1


@needs_tesa_opt
@needs_runner
def test_transformer_encoder_layer_in_region_forms_matches_pytorch():
    exported, x = exported_encoder_layer()
    result, reference = run_on_cpu(exported, (x,), REGION_FORMS)
    assert relative_error(result, reference) < 1e-5


# --- compile -----------------------------------------------------------------


needs_tesa_compile = pytest.mark.skipif(
    not (ROOT / "build" / "bin" / "tesa-compile").exists(),
    reason="tesa-compile not built")


@needs_tesa_compile
def test_compile_caches_libraries_by_content(tmp_path):
    model = seeded(MLP)
    torch.nn.utils.prune.l1_unstructured(model.fc1, "weight", amount=0.5)
    x = torch.randn(16, 64)
    compiled = tt.compile(model, (x,), chip="sm_90", cache_dir=tmp_path)
    function = compiled.library.functions["forward"]
    assert function.arguments[0] == ((16, 64), np.dtype(np.float32))
    assert "forward_pack" in compiled.library.functions
    assert len(function.arguments) == 1 + len(compiled.parameter_names)
    stamp = Path(compiled.path).stat().st_mtime_ns
    again = tt.compile(model, (x,), chip="sm_90", cache_dir=tmp_path)
    assert again.path == compiled.path
    assert Path(again.path).stat().st_mtime_ns == stamp
    other = tt.compile(model, (torch.randn(8, 64),), chip="sm_90",
                       cache_dir=tmp_path)
    assert other.path != compiled.path


@needs_tesa_compile
def test_compile_without_a_device_fails_readably(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(TesaError, match="no CUDA device: pass chip="):
        tt.compile(seeded(MLP), (torch.randn(16, 64),), cache_dir=tmp_path)
    compiled = tt.compile(seeded(MLP), (torch.randn(16, 64),), chip="sm_90",
                          cache_dir=tmp_path)
    with pytest.raises(TesaError):
        compiled(torch.randn(16, 64))
