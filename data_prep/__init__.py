"""Build or download data sets into the one on-disk format redo_lite reads:

DIR/images/<stem>.png|jpg        the images
DIR/masks/<stem>.png             optional uint8 label maps, 0..n-1 (0 = background)
DIR/splits/{train,val,test}.txt  optional, one stem a line
"""
