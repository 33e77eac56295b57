from torch2tf.cli import main

main()
