"""PNG figures of a run: sample grids and the loss curve (matplotlib, Agg backend)."""
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gan_tf.runs import logs  # noqa: E402
from gan_tf.fileio import atomic_write  # noqa: E402


def image_grid(images, columns=None, pad=1):
    """(n, h, w[, 1]) images in [-1, 1] -> one (rows*(h+pad)+pad, ...) array in [0, 1]."""
    images = np.asarray(images, np.float32)
    images = images.reshape(images.shape[0], images.shape[1], images.shape[2])
    n, h, w = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad), np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top:top + h, left:left + w] = (np.clip(img, -1, 1) + 1) / 2
    return grid


def save_grid(images, path, columns=None, scale=3, replace=True):
    """Writes the images as one grayscale PNG grid, each pixel `scale`x`scale` (atomically;
    `replace` false keeps a file that appeared at `path`: fileio.OutputAppeared)."""
    grid = np.kron(image_grid(images, columns), np.ones((scale, scale), np.float32))
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, grid, cmap="gray", vmin=0, vmax=1, format="png")
    atomic_write(path, buf.getvalue(), replace)


def save_loss_plot(steps, d_losses, g_losses, path, xlabel="step", replace=True):
    """Plots the discriminator and generator losses against `steps` into a PNG."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, d_losses, label="Discriminator")
    ax.plot(steps, g_losses, label="Generator")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title("Training losses")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=80, format="png")
    plt.close(fig)
    atomic_write(path, buf.getvalue(), replace)


def save_progress_gif(grids, path, scale=3, seconds_per_frame=0.25):
    """One GIF frame per fixed-z sample grid (n, h, w) of a run, the way GAN progress is
    shared; the last frame lingers. Nothing is written for no grids."""
    if not grids:
        return
    from PIL import Image
    frames = [Image.fromarray(np.uint8(np.round(
        255 * np.kron(image_grid(g), np.ones((scale, scale), np.float32)))), mode="L")
        for g in grids]
    durations = [int(1000 * seconds_per_frame)] * len(frames)
    durations[-1] = 2000
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0)
    atomic_write(path, buf.getvalue())


def plot_losses(path, out, replace=True):
    """Reads (d_loss, g_loss) pairs from the train_losses.pkl at `path` (gan_tf's or a legacy
    notebook's, read with gan_tf.runs.pickles.load_pickle) and plots them to the PNG `out`,
    one point per record; returns the number of records. `replace` false keeps a file
    that appeared at `out` meanwhile (fileio.OutputAppeared)."""
    losses = logs.load_losses(path)
    save_loss_plot(range(1, len(losses) + 1), losses[:, 0], losses[:, 1], out,
                   xlabel="log record (one per --log_every steps; one per epoch in legacy files)",
                   replace=replace)
    return len(losses)
