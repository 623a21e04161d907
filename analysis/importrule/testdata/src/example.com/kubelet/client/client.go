package client

func Dial() {}
