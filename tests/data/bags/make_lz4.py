"""Regenerates sick_lms_rms_lidar_radar/movement_off.lz4.bag: the SICK bag
rewritten with LZ4 chunks (same connections, messages and record times).

Needs the `rosbags` package from PyPI:  python3 make_lz4.py
"""
from pathlib import Path

from rosbags.rosbag1 import Reader, Writer

here = Path(__file__).parent / 'sick_lms_rms_lidar_radar'
src = here / 'rms_1xxx_lms_1xx_movement_off.bag'
dst = here / 'movement_off.lz4.bag'
dst.unlink(missing_ok=True)
with Reader(src) as reader:
    writer = Writer(dst)
    writer.set_compression(Writer.CompressionFormat.LZ4)
    with writer:
        conns = {}
        for c in reader.connections:
            conns[c.id] = writer.add_connection(
                c.topic, c.msgtype, msgdef=c.msgdef.data, md5sum=c.digest,
                callerid=c.ext.callerid, latching=c.ext.latching)
        for c, t, raw in reader.messages():
            writer.write(conns[c.id], t, raw)
