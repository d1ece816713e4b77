"""Regenerates the small seed bags of this folder from the SICK bags (Apache-2.0, SICK AG):
the first messages of /cloud_radar_track, /cloud_radar_rawtarget and /tf.

- small_{none,bz2,lz4}.bag: ROS 1 v2.0, small chunks (several per file);
- small.db3: rosbag2 sqlite3 with message definitions (schema version 9).

Needs `rosbags` from PyPI:  python3 make_small.py
"""
import shutil
from pathlib import Path

from rosbags.rosbag1 import Reader as Reader1, Writer as Writer1
from rosbags.rosbag2 import Reader as Reader2, Writer as Writer2

here = Path(__file__).parent
bags = here.parent
TOPICS = {'/cloud_radar_track', '/cloud_radar_rawtarget', '/tf'}
LIMIT = 40

def first(reader):
    conns = [c for c in reader.connections if c.topic in TOPICS]
    n = 0
    for c, t, raw in reader.messages(connections=conns):
        yield c, t, raw
        n += 1
        if n >= LIMIT:
            break

src1 = bags / 'sick_lms_rms_lidar_radar' / 'rms_1xxx_lms_1xx_movement_off.bag'
for name, comp in [('none', None), ('bz2', Writer1.CompressionFormat.BZ2), ('lz4', Writer1.CompressionFormat.LZ4)]:
    dst = here / f'small_{name}.bag'
    dst.unlink(missing_ok=True)
    with Reader1(src1) as reader:
        writer = Writer1(dst)
        if comp is not None:
            writer.set_compression(comp)
        writer.chunk_threshold = 4096
        with writer:
            conns = {}
            for c, t, raw in first(reader):
                if c.id not in conns:
                    conns[c.id] = writer.add_connection(
                        c.topic, c.msgtype, msgdef=c.msgdef.data, md5sum=c.digest,
                        callerid=c.ext.callerid, latching=c.ext.latching)
                writer.write(conns[c.id], t, raw)

src2 = bags / 'ros2' / 'sick_db3'
out = here / 'small_v9'
shutil.rmtree(out, ignore_errors=True)
with Reader2(src2) as reader:
    writer = Writer2(out, version=9)
    with writer:
        conns = {}
        for c, t, raw in first(reader):
            if c.id not in conns:
                conns[c.id] = writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest)
            writer.write(conns[c.id], t, raw)
shutil.move(out / 'small_v9.db3', here / 'small.db3')
shutil.rmtree(out)
