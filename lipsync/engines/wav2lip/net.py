"""The Wav2Lip generator, written so its state_dict matches the official checkpoints key for key.

Layout (from the published architecture): a face encoder over 6x96x96 input (masked face + reference),
an audio encoder over an 80x16 mel window, and a decoder with skip connections; every block is
Conv -> BatchNorm -> (residual add) -> ReLU, and the output is a 1x1 conv + sigmoid.
"""
from __future__ import annotations

import torch
from torch import nn


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm2d (as ``conv_block.0`` / ``conv_block.1``), optional residual, ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride, padding: int, residual: bool = False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class UpBlock(nn.Module):
    """ConvTranspose2d + BatchNorm2d + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, output_padding: int = 0):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _res(c: int) -> ConvBlock:
    return ConvBlock(c, c, 3, 1, 1, residual=True)


class Wav2Lip(nn.Module):
    """forward(mel (B,1,80,16), faces (B,6,96,96)) -> (B,3,96,96) in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(6, 16, 7, 1, 3)),                                   # 96
            nn.Sequential(ConvBlock(16, 32, 3, 2, 1), _res(32), _res(32)),               # 48
            nn.Sequential(ConvBlock(32, 64, 3, 2, 1), _res(64), _res(64), _res(64)),     # 24
            nn.Sequential(ConvBlock(64, 128, 3, 2, 1), _res(128), _res(128)),            # 12
            nn.Sequential(ConvBlock(128, 256, 3, 2, 1), _res(256), _res(256)),           # 6
            nn.Sequential(ConvBlock(256, 512, 3, 2, 1), _res(512)),                      # 3
            nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),   # 1
        ])
        self.audio_encoder = nn.Sequential(
            ConvBlock(1, 32, 3, 1, 1), _res(32), _res(32),
            ConvBlock(32, 64, 3, (3, 1), 1), _res(64), _res(64),
            ConvBlock(64, 128, 3, 3, 1), _res(128), _res(128),
            ConvBlock(128, 256, 3, (3, 2), 1), _res(256),
            ConvBlock(256, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0),
        )
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),
            nn.Sequential(UpBlock(1024, 512, 3, 1, 0), _res(512)),                       # 3
            nn.Sequential(UpBlock(1024, 512, 3, 2, 1, 1), _res(512), _res(512)),         # 6
            nn.Sequential(UpBlock(768, 384, 3, 2, 1, 1), _res(384), _res(384)),          # 12
            nn.Sequential(UpBlock(512, 256, 3, 2, 1, 1), _res(256), _res(256)),          # 24
            nn.Sequential(UpBlock(320, 128, 3, 2, 1, 1), _res(128), _res(128)),          # 48
            nn.Sequential(UpBlock(160, 64, 3, 2, 1, 1), _res(64), _res(64)),             # 96
        ])
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        x = self.audio_encoder(mel)
        skips = []
        f = faces
        for block in self.face_encoder_blocks:
            f = block(f)
            skips.append(f)
        for block in self.face_decoder_blocks:
            x = block(x)
            x = torch.cat((x, skips.pop()), dim=1)
        return self.output_block(x)
