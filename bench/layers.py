"""Layer lists of a spec (`encoder:` / `decoder:`), as Sources/Models/LayerList.swift reads them:
per-example shapes ([D] flat, [H, W, C] an image; HWC, as our NHWC tensors and the data rows are)
and the mirror rule that builds the default decoder. bench/torch_vsc.py and bench/vsc_torch.py
share them."""
import math


def image_shape(input_dim, input_shape=None):
    """One example's image shape [H, W, C]: the spec's input_shape, else a square grey image."""
    if input_shape:
        return list(input_shape)
    side = int(round(math.sqrt(input_dim)))
    if side * side != input_dim:
        raise SystemExit(f"input_dim {input_dim} is not a square: give input_shape [H, W, C]")
    return [side, side, 1]


def is_conv(layer):
    return "conv" in layer or "conv_transpose" in layer


def layer_out(layer, s):
    """The per-example shape after a layer (LayerSpec.outputShape)."""
    if "dense" in layer:
        return [layer["dense"]]
    if layer.get("flatten"):
        return [math.prod(s)]
    if "reshape" in layer:
        return list(layer["reshape"])
    k, st, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
    if "conv" in layer:
        return [(s[0] + 2 * p - k) // st + 1, (s[1] + 2 * p - k) // st + 1, layer["conv"]]
    op = layer.get("output_padding", 0)
    return [(s[0] - 1) * st - 2 * p + k + op, (s[1] - 1) * st - 2 * p + k + op, layer["conv_transpose"]]


def mirror(encoder, input_shape):
    """The decoder that mirrors `encoder` (mirroredDecoder): a dense layer to the encoder's last
    width (and a reshape), then each layer's inverse in reverse order."""
    shapes = [input_shape]
    for layer in encoder:
        shapes.append(layer_out(layer, shapes[-1]))
    dec = [{"dense": math.prod(shapes[-1])}]
    if len(shapes[-1]) == 3:
        dec.append({"reshape": shapes[-1]})
    for k in range(len(encoder) - 1, -1, -1):
        layer, s = encoder[k], shapes[k]
        if "dense" in layer:
            dec.append({"dense": math.prod(s)})
        elif layer.get("flatten"):
            if len(s) == 3:
                dec.append({"reshape": s})
        elif "reshape" in layer:
            dec.append({"flatten": True})
        elif "conv" in layer:
            m = {"conv_transpose": s[2], "kernel": layer["kernel"], "stride": layer.get("stride", 1),
                 "padding": layer.get("padding", 0)}
            out = shapes[k + 1]
            m["output_padding"] = max(0, s[0] - ((out[0] - 1) * m["stride"] - 2 * m["padding"] + m["kernel"]))
            dec.append(m)
        else:
            dec.append({"conv": s[2], "kernel": layer["kernel"], "stride": layer.get("stride", 1),
                        "padding": layer.get("padding", 0)})
    return dec


def layer_lists(input_dim, latent, hidden=None, encoder=None, decoder=None, input_shape=None):
    """(encoder layers, decoder layers, one example's shape as the encoder takes it)."""
    if encoder:
        shape = image_shape(input_dim, input_shape) if is_conv(encoder[0]) else [input_dim]
    else:
        encoder = [{"dense": h} for h in hidden]
        shape = [input_dim]
    return encoder, decoder or mirror(encoder, shape), shape
